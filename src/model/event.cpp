#include "model/event.hpp"

#include "model/json_io.hpp"

namespace ymy {

boost::json::value toJson(const Event& e) {
  boost::json::object out;
  out["type"] = e.type;
  out["executionId"] = e.executionId;
  out["seq"] = e.seq;
  out["ts"] = e.ts;
  for (const auto& kv : e.fields) {
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  }
  return out;
}

Result<Event> eventFromJson(const boost::json::value& value, std::string_view path) {
  return json::guarded([&] {
    json::Reader r(value, std::string(path));
    Event e;
    e.type = r.at("type").str();
    e.executionId = r.strOr("executionId", "");
    auto seq = r.at("seq").integer();
    if (seq < 0) r.at("seq").fail("must not be negative");
    e.seq = static_cast<std::uint64_t>(seq);
    e.ts = r.find("ts") ? r.at("ts").integer() : 0;
    for (const auto& kv : r.object()) {
      if (kv.key() != "type" && kv.key() != "executionId" && kv.key() != "seq" && kv.key() != "ts") {
        e.fields[kv.key()] = kv.value();
      }
    }
    return e;
  });
}

}  // namespace ymy
