"""Canyue's rules: the state machines, who may do what, and how a move is applied.

Nothing here imports Flask, so the rules are read and tested without HTTP.
"""
