"""Credit Control for Salesforce: the Python service (feeds in, credit status out)."""
