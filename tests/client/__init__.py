"""Tests of trainyard.client against a stub Argo Server checked by Argo's swagger."""
