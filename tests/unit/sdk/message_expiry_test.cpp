// The message expiry of ABI 1.2 across the C boundary: carried when the producer's struct has the
// field and sets the flag, never read from a shorter struct of a 1.0/1.1 producer.
#include <iotgw/sdk/message.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

namespace iotgw::sdk {
namespace {

TEST(MessageExpiry, RoundTripsThroughTheCStruct) {
    const Message with{"amr/AMR-001/watch", "{}", 1, true, 90u};
    const iotgw_message c = with.to_c();
    EXPECT_EQ(c.size, sizeof(iotgw_message));
    EXPECT_NE(c.flags & IOTGW_MSG_EXPIRY, 0u);
    EXPECT_NE(c.flags & IOTGW_MSG_RETAIN, 0u);
    EXPECT_EQ(Message::from_c(c).expiry_s, 90u);

    const Message without{"t", "p", 0, false};
    const iotgw_message c2 = without.to_c();
    EXPECT_EQ(c2.flags & IOTGW_MSG_EXPIRY, 0u);
    EXPECT_EQ(Message::from_c(c2).expiry_s, std::nullopt);
}

TEST(MessageExpiry, AShorterStructFromAnOlderProducerIsNeverReadPastItsSize) {
    // What a plugin built for ABI 1.1 hands over: its size ends before expiry_s. Even a stray
    // flag bit must not make the reader look past that size.
    iotgw_message c = Message{"t", "p", 1, false, 5u}.to_c();
    c.size = offsetof(iotgw_message, expiry_s);
    EXPECT_EQ(Message::from_c(c).expiry_s, std::nullopt);
    EXPECT_EQ(Message::from_c(c).qos, 1);
}

}  // namespace
}  // namespace iotgw::sdk
