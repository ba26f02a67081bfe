#include "server/ws_frame.hpp"

namespace ymy::server::ws {

namespace {

void appendHeader(std::string& out, Opcode opcode, std::size_t length) {
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  if (length < 126) {
    out.push_back(static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xFF));
  }
}

bool validCloseCode(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

}  // namespace

std::string frame(Opcode opcode, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  appendHeader(out, opcode, payload.size());
  out.append(payload);
  return out;
}

std::string closeFrame(std::uint16_t code, std::string_view reason) {
  // A control frame carries at most 125 bytes, and a close reason must be
  // UTF-8: cut on a character boundary, never inside one.
  const std::string clean = sanitizeUtf8(reason);
  reason = utf8Prefix(clean, 123);
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return frame(Opcode::kClose, payload);
}

namespace {

// The length of the valid UTF-8 sequence starting at text[i], or 0 when the
// bytes there are not one (a stray continuation byte, a truncated, overlong
// or surrogate sequence, a code point past U+10FFFF).
std::size_t sequenceLength(std::string_view text, std::size_t i) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  std::size_t extra = 0;
  std::uint32_t cp = 0, min = 0;
  if ((c & 0xE0) == 0xC0) {
    extra = 1, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + extra >= n) return 0;  // truncated sequence
  for (std::size_t k = 1; k <= extra; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return extra + 1;
}

}  // namespace

bool validUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = sequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string sanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t length = sequenceLength(text, i)) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, one per bad byte
      ++i;
    }
  }
  return out;
}

std::string_view utf8Prefix(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return text;
  std::size_t end = maxBytes;
  // Back off over continuation bytes to the start of the character that does not fit.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

void FrameParser::fail(std::uint16_t code, std::string why, std::vector<Incoming>& out) {
  failed_ = true;
  partial_.clear();
  message_.clear();
  out.push_back({Incoming::Kind::kError, std::move(why), code});
}

void FrameParser::feed(std::string_view bytes, std::vector<Incoming>& out) {
  if (failed_) return;
  std::string_view data = bytes;
  if (!partial_.empty()) {
    partial_.append(bytes);
    data = partial_;
  }
  std::size_t used = 0;
  while (!failed_ && used < data.size()) {
    const std::size_t n = parseOne(data.substr(used), out);
    if (n == 0) break;
    used += n;
  }
  if (failed_) return;
  if (data.data() == partial_.data()) {
    partial_.erase(0, used);
  } else {
    partial_.assign(data.substr(used));
  }
}

std::size_t FrameParser::parseOne(std::string_view data, std::vector<Incoming>& out) {
  if (data.size() < 2) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const bool fin = p[0] & 0x80;
  const auto opcode = static_cast<Opcode>(p[0] & 0x0F);
  const bool masked = p[1] & 0x80;
  std::uint64_t length = p[1] & 0x7F;
  std::size_t header = 2;
  if (p[0] & 0x70) return fail(close_code::kProtocolError, "reserved bits set without an extension", out), 0;
  if (!masked) return fail(close_code::kProtocolError, "client frames must be masked", out), 0;
  const bool control = static_cast<std::uint8_t>(opcode) >= 8;
  if (control) {
    if (opcode != Opcode::kClose && opcode != Opcode::kPing && opcode != Opcode::kPong) {
      return fail(close_code::kProtocolError, "unknown control opcode", out), 0;
    }
    if (!fin || length > 125) return fail(close_code::kProtocolError, "control frames are whole and short", out), 0;
  } else if (opcode != Opcode::kContinuation && opcode != Opcode::kText && opcode != Opcode::kBinary) {
    return fail(close_code::kProtocolError, "unknown data opcode", out), 0;
  } else if ((opcode == Opcode::kContinuation) != inMessage_) {
    return fail(close_code::kProtocolError, inMessage_ ? "new message before the last one ended"
                                                       : "continuation frame outside a message",
                out),
           0;
  }
  if (length == 126) {
    if (data.size() < 4) return 0;
    length = (std::uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (length == 127) {
    if (data.size() < 10) return 0;
    length = 0;
    for (int k = 0; k < 8; ++k) length = (length << 8) | p[2 + k];
    header = 10;
    if (length >> 63) return fail(close_code::kProtocolError, "frame length out of range", out), 0;
  }
  // Refuse an oversized message from its header, before buffering it.
  if (!control && length > max_ - std::min<std::size_t>(message_.size(), max_)) {
    return fail(close_code::kTooBig, "message larger than " + std::to_string(max_) + " bytes", out), 0;
  }
  if (data.size() < header + 4 + length) return 0;
  const unsigned char* key = p + header;
  std::string payload(data.substr(header + 4, static_cast<std::size_t>(length)));
  for (std::size_t k = 0; k < payload.size(); ++k) payload[k] = static_cast<char>(payload[k] ^ key[k & 3]);
  const std::size_t used = header + 4 + static_cast<std::size_t>(length);

  if (control) {
    if (opcode == Opcode::kPing) {
      out.push_back({Incoming::Kind::kPing, std::move(payload), 0});
    } else if (opcode == Opcode::kPong) {
      out.push_back({Incoming::Kind::kPong, std::move(payload), 0});
    } else {
      if (payload.size() == 1) return fail(close_code::kProtocolError, "close payload of one byte", out), 0;
      std::uint16_t code = 1005;  // none given
      std::string reason;
      if (payload.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                          static_cast<unsigned char>(payload[1]));
        reason = payload.substr(2);
        if (!validCloseCode(code)) return fail(close_code::kProtocolError, "invalid close code", out), 0;
        if (!validUtf8(reason)) return fail(close_code::kBadPayload, "close reason is not UTF-8", out), 0;
      }
      out.push_back({Incoming::Kind::kClose, std::move(reason), code});
      failed_ = true;  // nothing after a close frame is read
    }
    return used;
  }
  if (opcode != Opcode::kContinuation) {
    messageType_ = opcode;
    inMessage_ = true;
  }
  message_.append(payload);
  if (!fin) return used;
  inMessage_ = false;
  if (messageType_ == Opcode::kText) {
    if (!validUtf8(message_)) return fail(close_code::kBadPayload, "text message is not UTF-8", out), 0;
    out.push_back({Incoming::Kind::kText, std::move(message_), 0});
  } else {
    out.push_back({Incoming::Kind::kBinary, std::move(message_), 0});
  }
  message_.clear();
  return used;
}

}  // namespace ymy::server::ws
