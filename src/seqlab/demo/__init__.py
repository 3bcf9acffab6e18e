"""Embedded demos that run offline on data the install brings."""
