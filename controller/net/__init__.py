"""MQTT: payloads and topics, the publisher with its outbox, the monitor's fleet model,
signed network commands."""
