"""Runs compiled pipelines: step execution, Arrow edges, the local adapter."""
