"""Alert channels (MQTT, email), the outbox dispatcher, and scheduled digests."""
