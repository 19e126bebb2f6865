"""The embedded default stack: what Glue, the crawler and Athena give on AWS, given locally."""
