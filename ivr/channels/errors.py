class DeliveryError(Exception):
    """A notification could not be delivered this time; the message says why."""
