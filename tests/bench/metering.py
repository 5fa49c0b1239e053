"""AWS IoT Core's metering arithmetic: how many billable messages, Device Shadow operations and
dollars a given MQTT traffic makes. Pure arithmetic (no I/O), used by heartbeat_cost.py and
checked against hand-computed cases by metering_selftest.py.

The rules, from AWS's pricing pages (read 2026-12; list prices change, so every figure that
comes out of here is to be confirmed in the AWS Pricing Calculator):

- https://aws.amazon.com/iot-core/pricing/ : messaging is metered in 5 KB increments (an 8 KB
  message is two messages); Device Shadow and registry operations in 1 KB increments; messaging
  is priced per million in tiers (first 1 billion, next 4 billion, beyond 5 billion a month).
- https://aws.amazon.com/iot-core/pricing/additional-details/ ("MQTT Message Metering"):
  - PUBLISH received from a device and PUBLISH sent by the service (each delivery, to each
    subscriber) are metered on the size of the payload and the topic; with MQTT 5 the user
    properties, response topic, correlation data and content type count too (the message
    expiry interval is not in that list, so it adds nothing);
  - a PUBLISH with the RETAIN flag is metered twice: the inbound PUBLISH and "MQTT RETAINED";
  - a PUBACK received from a device (a client acknowledging a QoS 1 delivery) is metered: with
    MQTT 3.1.1 as one 5 KB message, with MQTT 5 on its size (one message without user
    properties); the PUBACK the service sends is not;
  - CONNECT (with its Will topic and payload) and SUBSCRIBE (the size of its topic filters) are
    metered; PINGREQ/PINGRESP, DISCONNECT, CONNACK, SUBACK and UNSUBSCRIBE are not.
- Lifecycle events (https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html)
  are published by the service: neither page meters the event itself, so we count each
  delivery of one to a subscriber as a PUBLISH sent by the service (and its PUBACK at QoS 1);
  a rule that selects them is billed as a rule, not here.

"5 KB" and "1 KB" are taken as 5 x 1024 and 1024 bytes; the pages do not say which. Every
message in this project is far below either boundary, so the choice changes no figure here.
"""
import math

KB = 1024
MESSAGE_INCREMENT_BYTES = 5 * KB
SHADOW_INCREMENT_BYTES = 1 * KB

# USD per million messages a month, ap-northeast-1 as docs/cloud-deployment.md has them:
# (messages in this tier, price per million). To be confirmed in the Pricing Calculator.
MESSAGE_TIERS = ((1_000_000_000, 1.00), (4_000_000_000, 0.80), (math.inf, 0.70))
# USD per million Device Shadow or registry operations (to be confirmed, as above).
SHADOW_PRICE_PER_MILLION = 1.25


def utf8_len(text):
    return len(text.encode("utf-8"))


def message_units(size_bytes, increment=MESSAGE_INCREMENT_BYTES):
    """Billable messages for one metered item of `size_bytes`: one per started increment, and at
    least one (an empty retained PUBLISH, which deletes a retained message, still counts)."""
    if size_bytes < 0:
        raise ValueError(f"a size cannot be negative: {size_bytes}")
    return max(1, math.ceil(size_bytes / increment))


def publish_size(topic, payload_bytes, mqtt5_metered_property_bytes=0):
    """The metered size of a PUBLISH: topic + payload (+ the MQTT 5 properties AWS meters)."""
    return utf8_len(topic) + payload_bytes + mqtt5_metered_property_bytes


def inbound_publish(size_bytes, retain):
    """One PUBLISH received from a client: the publish, and the retain when RETAIN is set."""
    units = message_units(size_bytes)
    return units * (2 if retain else 1)


def delivery(size_bytes, qos, puback_bytes=0):
    """One PUBLISH sent by the service to one subscriber, with the subscriber's PUBACK at QoS 1
    (MQTT 3.1.1: one message; MQTT 5: its size, one message without user properties)."""
    units = message_units(size_bytes)
    if qos >= 1:
        units += message_units(puback_bytes)
    return units


def connect(will_topic="", will_payload_bytes=0, other_bytes=0):
    """One CONNECT: metered on its size, with the Will topic and payload."""
    return message_units(utf8_len(will_topic) + will_payload_bytes + other_bytes)


def subscribe(filters):
    """One SUBSCRIBE packet with these topic filters: metered on the size of the filters."""
    return message_units(sum(utf8_len(f) for f in filters))


def shadow_operations(document_bytes):
    """Device Shadow operations for one request on a document of `document_bytes`."""
    return message_units(document_bytes, SHADOW_INCREMENT_BYTES)


def message_bill(messages, tiers=MESSAGE_TIERS):
    """USD for `messages` metered messages in one month, tier by tier. Returns (total,
    [(messages in tier, USD)] for each tier used)."""
    if messages < 0:
        raise ValueError(f"a message count cannot be negative: {messages}")
    left = messages
    parts = []
    for size, price in tiers:
        if left <= 0:
            break
        n = min(left, size)
        parts.append((n, n / 1e6 * price))
        left -= n
    return sum(usd for _, usd in parts), parts
