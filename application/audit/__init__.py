"""Auditing: explaining, verifying and replaying what the scheduler decided."""
