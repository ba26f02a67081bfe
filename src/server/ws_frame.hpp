#pragma once
// WebSocket framing (RFC 6455) for the server side, without any I/O: frames
// the server sends (unmasked, so one frame's bytes serve every client) and a
// parser for what clients send (masked; fragmented messages; control frames
// in between). Beast does the HTTP upgrade; after it, the server writes these
// shared bytes straight to each socket, which is what makes fan-out to
// thousands of clients cheap.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ymy::server::ws {

enum class Opcode : std::uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

namespace close_code {
constexpr std::uint16_t kNormal = 1000;
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kBadPayload = 1007;  // not UTF-8, or not the kind of data this endpoint takes
constexpr std::uint16_t kPolicy = 1008;
constexpr std::uint16_t kTooBig = 1009;
}  // namespace close_code

// A complete server frame: FIN set, not masked.
std::string frame(Opcode opcode, std::string_view payload);
std::string closeFrame(std::uint16_t code, std::string_view reason);

bool validUtf8(std::string_view text);
// `text` with each byte that does not start a valid UTF-8 sequence replaced
// by U+FFFD: what the server sends in text frames and JSON must be UTF-8
// even when it echoes bytes a client sent (a query parameter, a path).
std::string sanitizeUtf8(std::string_view text);
// The longest prefix of (valid UTF-8) `text` of at most `maxBytes` bytes
// that ends on a character boundary, so a cut never splits a character.
std::string_view utf8Prefix(std::string_view text, std::size_t maxBytes);

// What a client sent: a whole message, a control frame, or a protocol error
// (after which the parser takes nothing more).
struct Incoming {
  enum class Kind { kText, kBinary, kPing, kPong, kClose, kError } kind;
  std::string payload;     // message text / ping payload / close reason / error description
  std::uint16_t code = 0;  // kClose: the peer's code (1005 when none); kError: the code to close with
};

class FrameParser {
 public:
  explicit FrameParser(std::size_t maxMessageBytes) : max_(maxMessageBytes) {}

  // Consumes `bytes` (any split: a frame may arrive over several calls) and
  // appends what completed. Memory held is bounded by the message limit.
  void feed(std::string_view bytes, std::vector<Incoming>& out);
  bool failed() const { return failed_; }

 private:
  // Parses one frame from the front of `data`; returns the bytes used, or 0
  // when the frame is not complete yet.
  std::size_t parseOne(std::string_view data, std::vector<Incoming>& out);
  void fail(std::uint16_t code, std::string why, std::vector<Incoming>& out);

  const std::size_t max_;
  std::string partial_;  // an incomplete frame carried to the next feed()
  std::string message_;  // fragments of a message in progress
  Opcode messageType_ = Opcode::kText;
  bool inMessage_ = false;
  bool failed_ = false;
};

}  // namespace ymy::server::ws
