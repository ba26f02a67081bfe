#pragma once
// An event of an execution, as streamed to clients:
//   {"type","executionId","seq","ts", ...fields at top level}
// seq increases by exactly 1 per execution and is the resume position for
// every transport.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy {

struct Event {
  std::string type;
  std::string executionId;
  std::uint64_t seq = 0;
  std::int64_t ts = 0;  // epoch milliseconds
  boost::json::object fields;
};

// Fields may not shadow the envelope (type, executionId, seq, ts): those win.
boost::json::value toJson(const Event& event);
Result<Event> eventFromJson(const boost::json::value& value, std::string_view path = "event");

}  // namespace ymy
