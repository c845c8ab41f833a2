"""Diagnose: throughput profiling (`profile`), /proc readings of the worker
processes (`proc_monitor`) and batch previews (`preview`)."""
