"""SDMX 2.1 REST under /sdmx/: the catalogue as SDMX structures, observations as SDMX data.

``catalogue`` maps the model to SDMX (one dataflow and one data structure per public
indicator), ``structure`` writes structure messages, ``data`` parses data queries, reads
the public observations and writes them in the four formats, ``views`` answers HTTP
(negotiation, errors, the response cache and ETags shared with the read API).
"""
