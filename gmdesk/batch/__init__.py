"""Cohorts on Dask: ``gmdesk batch`` — per recording pose → cleaning → case → assessment → report, resumable."""
