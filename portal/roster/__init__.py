"""Rosters in and out of the portal: CSV, XLSX and JSON."""
