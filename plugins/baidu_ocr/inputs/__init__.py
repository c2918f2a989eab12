"""What goes into a billable call: images and documents checked before paying, and the S3 keys they come from."""
