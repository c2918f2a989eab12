"""Personal data: ID numbers checked, masked, hashed, sealed in staging, and the PII connection that keys them."""
