"""Prefect orchestration of the zhclean pipeline."""
