"""The pipeline's stages as plain functions over DataFrames and Arrow tables (no Prefect here)."""
