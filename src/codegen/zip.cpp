// A ZIP archive (stored entries, UTF-8 names) of generated files, for
// GET /api/executions/{id}/files?format=zip. Stored, not deflated: the files
// are small text and this keeps the writer dependency-free and exact.

#include <boost/crc.hpp>

#include "codegen/codegen.hpp"

namespace ymy::codegen {

namespace {

void put16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

}  // namespace

std::string zipArchive(const std::vector<GeneratedFile>& files) {
  constexpr std::uint32_t kDosTime = 0;                       // 00:00:00
  constexpr std::uint32_t kDosDate = (46u << 9) | (1u << 5) | 1u;  // 2026-01-01
  constexpr std::uint32_t kUtf8 = 0x0800;
  std::string out, central;
  std::uint32_t count = 0;
  for (const auto& f : files) {
    boost::crc_32_type crc;
    crc.process_bytes(f.content.data(), f.content.size());
    const auto size = static_cast<std::uint32_t>(f.content.size());
    const auto offset = static_cast<std::uint32_t>(out.size());
    put32(out, 0x04034b50);  // local file header
    put16(out, 20);
    put16(out, kUtf8);
    put16(out, 0);  // stored
    put16(out, kDosTime);
    put16(out, kDosDate);
    put32(out, crc.checksum());
    put32(out, size);
    put32(out, size);
    put16(out, static_cast<std::uint32_t>(f.path.size()));
    put16(out, 0);
    out += f.path;
    out += f.content;

    put32(central, 0x02014b50);  // central directory entry
    put16(central, 20);
    put16(central, 20);
    put16(central, kUtf8);
    put16(central, 0);
    put16(central, kDosTime);
    put16(central, kDosDate);
    put32(central, crc.checksum());
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<std::uint32_t>(f.path.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0100644u << 16);  // regular file, rw-r--r--
    put32(central, offset);
    central += f.path;
    ++count;
  }
  const auto centralOffset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);  // end of central directory
  put16(out, 0);
  put16(out, 0);
  put16(out, count);
  put16(out, count);
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, centralOffset);
  put16(out, 0);
  return out;
}

}  // namespace ymy::codegen
