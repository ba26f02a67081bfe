// WebSocket framing without sockets: what the server sends, and how it reads
// (and refuses) what clients send.

#include "server/ws_frame.hpp"

#include <gtest/gtest.h>

namespace ymy::server::ws {
namespace {

// A client frame as RFC 6455 requires: masked, with `key`.
std::string clientFrame(std::uint8_t first, std::string_view payload, bool mask = true,
                        std::array<unsigned char, 4> key = {0x37, 0xfa, 0x21, 0x3d}) {
  std::string f;
  f.push_back(static_cast<char>(first));
  const std::uint8_t maskBit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(maskBit | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    f.push_back(static_cast<char>(maskBit | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    f.push_back(static_cast<char>(maskBit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((payload.size() >> shift) & 0xFF));
  }
  if (mask) {
    for (auto k : key) f.push_back(static_cast<char>(k));
  }
  for (std::size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(payload[i] ^ (mask ? key[i & 3] : 0)));
  }
  return f;
}

std::vector<Incoming> parse(std::string_view bytes, std::size_t max = 1024) {
  FrameParser p(max);
  std::vector<Incoming> out;
  p.feed(bytes, out);
  return out;
}

TEST(WsFrame, ServerFramesUseTheShortestLengthAndNoMask) {
  EXPECT_EQ(frame(Opcode::kText, "hi"), std::string("\x81\x02hi", 4));
  const auto medium = frame(Opcode::kText, std::string(126, 'a'));
  ASSERT_EQ(medium.size(), 4u + 126);
  EXPECT_EQ(static_cast<unsigned char>(medium[1]), 126);
  EXPECT_EQ(static_cast<unsigned char>(medium[3]), 126);
  const auto large = frame(Opcode::kText, std::string(70000, 'a'));
  ASSERT_EQ(large.size(), 10u + 70000);
  EXPECT_EQ(static_cast<unsigned char>(large[1]), 127);
  EXPECT_EQ((static_cast<unsigned char>(large[7]) << 16) | (static_cast<unsigned char>(large[8]) << 8) |
                static_cast<unsigned char>(large[9]),
            70000);
  const auto close = closeFrame(1001, "bye");
  EXPECT_EQ(close, std::string("\x88\x05\x03\xe9" "bye", 7));
  EXPECT_EQ(closeFrame(1000, std::string(300, 'r')).size(), 2u + 125);  // reason cut to fit a control frame
}

TEST(WsFrame, ReadsMaskedTextInOneGoOrByteByByte) {
  const std::string bytes = clientFrame(0x81, "{\"type\":\"ping\"}") + clientFrame(0x81, std::string(300, 'x'));
  auto all = parse(bytes);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, Incoming::Kind::kText);
  EXPECT_EQ(all[0].payload, "{\"type\":\"ping\"}");
  EXPECT_EQ(all[1].payload, std::string(300, 'x'));

  FrameParser p(1024);
  std::vector<Incoming> out;
  for (char c : bytes) p.feed(std::string_view(&c, 1), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, all[0].payload);
  EXPECT_EQ(out[1].payload, all[1].payload);
}

TEST(WsFrame, JoinsFragmentsAndAnswersControlFramesBetweenThem) {
  const std::string bytes = clientFrame(0x01, "hel") + clientFrame(0x89, "beat") + clientFrame(0x00, "lo ") +
                            clientFrame(0x80, "world");
  auto out = parse(bytes);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Incoming::Kind::kPing);
  EXPECT_EQ(out[0].payload, "beat");
  EXPECT_EQ(out[1].kind, Incoming::Kind::kText);
  EXPECT_EQ(out[1].payload, "hello world");
}

TEST(WsFrame, CloseCarriesCodeAndReason) {
  auto out = parse(clientFrame(0x88, std::string("\x03\xe8", 2) + "done"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Incoming::Kind::kClose);
  EXPECT_EQ(out[0].code, 1000);
  EXPECT_EQ(out[0].payload, "done");
  auto bare = parse(clientFrame(0x88, ""));
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].code, 1005);  // none given
  // Nothing after a close is read.
  auto after = parse(clientFrame(0x88, "") + clientFrame(0x81, "late"));
  EXPECT_EQ(after.size(), 1u);
}

struct Refusal {
  std::string name;
  std::string bytes;
  std::uint16_t code;
};

TEST(WsFrame, ProtocolViolationsAreRefusedWithTheRightCode) {
  const std::vector<Refusal> cases = {
      {"unmasked", clientFrame(0x81, "hi", false), close_code::kProtocolError},
      {"reserved bit", clientFrame(0xC1, "hi"), close_code::kProtocolError},
      {"unknown opcode", clientFrame(0x83, "hi"), close_code::kProtocolError},
      {"continuation first", clientFrame(0x80, "hi"), close_code::kProtocolError},
      {"new message mid-fragment", clientFrame(0x01, "a") + clientFrame(0x81, "b"), close_code::kProtocolError},
      {"fragmented control", clientFrame(0x09, "x"), close_code::kProtocolError},
      {"long control", clientFrame(0x89, std::string(126, 'p')), close_code::kProtocolError},
      {"one-byte close", clientFrame(0x88, "x"), close_code::kProtocolError},
      {"reserved close code", clientFrame(0x88, std::string("\x03\xed", 2)), close_code::kProtocolError},  // 1005
      {"invalid UTF-8 text", clientFrame(0x81, "\xc3\x28"), close_code::kBadPayload},
      {"invalid UTF-8 across fragments", clientFrame(0x01, "\xe2\x82") + clientFrame(0x80, "\x28"),
       close_code::kBadPayload},
      {"too big", clientFrame(0x81, std::string(2000, 'x')), close_code::kTooBig},
      {"too big in fragments", clientFrame(0x01, std::string(600, 'x')) + clientFrame(0x80, std::string(600, 'x')),
       close_code::kTooBig},
  };
  for (const auto& c : cases) {
    auto out = parse(c.bytes);
    ASSERT_FALSE(out.empty()) << c.name;
    EXPECT_EQ(out.back().kind, Incoming::Kind::kError) << c.name;
    EXPECT_EQ(out.back().code, c.code) << c.name << ": " << out.back().payload;
  }
}

TEST(WsFrame, AnOversizedMessageIsRefusedFromItsHeaderBeforeThePayloadArrives) {
  FrameParser p(1024);
  std::vector<Incoming> out;
  const std::string big = clientFrame(0x82, std::string(1 << 20, 'x'));
  p.feed(std::string_view(big).substr(0, 14), out);  // header and mask only
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].code, close_code::kTooBig);
  EXPECT_TRUE(p.failed());
  p.feed(big.substr(14), out);  // the rest is ignored
  EXPECT_EQ(out.size(), 1u);
}

TEST(WsFrame, Utf8Validation) {
  EXPECT_TRUE(validUtf8("plain ascii"));
  EXPECT_TRUE(validUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_FALSE(validUtf8("\xc0\xaf"));                                  // overlong '/'
  EXPECT_FALSE(validUtf8("\xed\xa0\x80"));                              // a surrogate
  EXPECT_FALSE(validUtf8("\xf4\x90\x80\x80"));                          // above U+10FFFF
  EXPECT_FALSE(validUtf8("\xe2\x82"));                                  // truncated
  EXPECT_FALSE(validUtf8("\x80"));                                      // stray continuation
}

TEST(WsFrame, SanitisingReplacesEachBadByteAndKeepsGoodText) {
  EXPECT_EQ(sanitizeUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(sanitizeUtf8("a\xff\xfe" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitizeUtf8("x\xe2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD");  // a truncated character at the end
  EXPECT_TRUE(validUtf8(sanitizeUtf8("\xc0\xaf\xed\xa0\x80\x80")));
}

TEST(WsFrame, PrefixesEndOnACharacterBoundary) {
  const std::string text = "ab\xe2\x82\xac" "c";  // a b € c
  EXPECT_EQ(utf8Prefix(text, 2), "ab");
  EXPECT_EQ(utf8Prefix(text, 3), "ab");  // inside the euro sign: back to before it
  EXPECT_EQ(utf8Prefix(text, 4), "ab");
  EXPECT_EQ(utf8Prefix(text, 5), "ab\xe2\x82\xac");
  EXPECT_EQ(utf8Prefix(text, 100), text);
}

TEST(WsFrame, ALongCloseReasonIsCutOnACharacterBoundaryAndStaysUtf8) {
  const std::string reason = std::string(122, 'r') + "\xc3\xa9" + "\xff";  // é straddles byte 123
  const std::string f = closeFrame(1001, reason);
  ASSERT_GE(f.size(), 4u);
  const std::string payloadReason = f.substr(4);  // 2 header bytes, 2 code bytes
  EXPECT_EQ(payloadReason, std::string(122, 'r'));
  EXPECT_TRUE(validUtf8(closeFrame(1001, "bad \xff byte").substr(4)));
}

}  // namespace
}  // namespace ymy::server::ws
