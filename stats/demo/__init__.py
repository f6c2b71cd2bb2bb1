"""The demo data set: the 2023 ANTARA release, the annual history, targets, provinces.

The CSV files beside this module are the project's own copy of the facts; the
catalogue below names the topics, code lists and indicators they need.
"""
