"""Scenario Studio core: everything that computes. Never imports gradio or pages."""
