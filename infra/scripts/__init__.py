"""Packaging, rendering and deploy helpers for infra/cloudformation/template.yaml (run from the repo root)."""
