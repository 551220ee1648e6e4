"""Recipes that build, train and export the models (torch lives here, never in mmsearch)."""
