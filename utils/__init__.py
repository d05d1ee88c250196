"""Helpers for the course "Federated Learning Across Borders".

Plumbing (set-up, data, partitioning, plotting, widgets, exercises) lives here
from the start; ideas a chapter teaches are written out in that chapter first
and then reused from here (their docstrings say "Introduced in chapter NN").
"""
