"""Outputs for people: diagrams (diagrams.py), review workbooks (sheets.py) and a static site (report.py).

Each generator reads the same `Publication`: the validated repository and its SGAM graph.
"""
