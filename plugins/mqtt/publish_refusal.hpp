// What the connection does when the broker refuses a QoS 1 PUBLISH in its PUBACK (MQTT 5 reason
// code >= 0x80). AWS IoT Core throttles with 0x97 "Quota exceeded"
// (https://docs.aws.amazon.com/iot/latest/developerguide/mqtt.html#mqtt5-reason-codes): the
// message was not taken, and sending it again later works. localcore, a mosquitto 2.0 plugin,
// can refuse a PUBLISH only as 0x87 "Not authorized" (mosquitto 2.0 maps a plugin's
// MOSQ_ERR_ACL_DENIED to 0x87; only 2.1 lets a plugin answer 0x97), so 0x87 is a throttle there
// but a policy denial on AWS, which no retry fixes: it is retried a bounded number of times.
// Any other refusal (payload format, topic name, ...) is final.
#pragma once

namespace iotgw::plugins::mqtt {

enum class RefusalAction {
    retry,  // queue it again, in order, and send it after a backoff
    drop,   // give up: count it as dropped and log it
    fail,   // not a refusal worth retrying: count and log the failure
};

inline constexpr int kReasonNotAuthorized = 0x87;
inline constexpr int kReasonQuotaExceeded = 0x97;
// Sends of one message refused with 0x87 before it is dropped: with the refusal backoff's
// ceilings (0.2, 0.4, ... 5 s) a few tens of seconds, far longer than a throttle lasts once the
// pace has adapted, short enough that a denied message does not hold the queue for long.
inline constexpr unsigned kMaxNotAuthorizedSends = 8;

// `sends`: how often this message has been sent, the refused send included.
inline RefusalAction refusal_action(int reason, unsigned sends) {
    if (reason == kReasonQuotaExceeded) return RefusalAction::retry;
    if (reason == kReasonNotAuthorized)
        return sends < kMaxNotAuthorizedSends ? RefusalAction::retry : RefusalAction::drop;
    return RefusalAction::fail;
}

}  // namespace iotgw::plugins::mqtt
