#include "bus/event_bus.hpp"

#include <algorithm>

#include "model/json_io.hpp"

namespace ymy::bus {

namespace {
constexpr std::size_t kReplayPage = 1000;
}

Published EventBus::serialize(const Event& event) {
  return Published{event.seq, std::make_shared<const std::string>(json::compact(toJson(event))),
                   event.type == "executionSummary"};
}

std::shared_ptr<EventBus::Channel> EventBus::channel(const std::string& executionId) {
  std::lock_guard lock(mutex_);
  auto& c = channels_[executionId];
  if (!c) c = std::make_shared<Channel>();
  return c;
}

Result<void> EventBus::publish(const Event& event, const store::Fence* fence) {
  auto c = channel(event.executionId);
  std::size_t delivered = 0, dropped = 0;
  {
    std::lock_guard lock(c->mutex);
    if (auto ok = store_.appendEvent(event, fence); !ok) return ok;
    c->lastSeq = event.seq;
    c->lastSeqKnown = true;
    if (!c->subscribers.empty()) {
      const Published message = serialize(event);
      for (std::size_t i = c->subscribers.size(); i-- > 0;) {
        if (c->subscribers[i]->deliver(message)) {
          ++delivered;
        } else {
          ++dropped;
          c->remove(i);  // moves the last (already delivered to) into i
        }
      }
    }
  }
  c->arrived.notify_all();
  std::lock_guard lock(mutex_);
  ++published_;
  delivered_ += delivered;
  dropped_ += dropped;
  return {};
}

Result<std::unique_ptr<EventBus::Subscription>> EventBus::subscribe(const std::string& executionId, std::uint64_t after,
                                                                    std::shared_ptr<Subscriber> subscriber) {
  auto c = channel(executionId);
  std::unique_ptr<Subscription> subscription(new Subscription(*this, executionId, subscriber));
  std::lock_guard lock(c->mutex);
  // Replay the log after `after`; publishers wait on this lock, so nothing is
  // appended between the last replayed event and going live.
  std::uint64_t cursor = after;
  for (;;) {
    auto page = store_.eventsAfter(executionId, cursor, kReplayPage);
    if (!page) return tl::unexpected(page.error());
    for (const auto& e : *page) {
      if (!subscriber->deliver(serialize(e))) {
        return fail(ErrorCode::kInvalidArgument, "subscriber for " + executionId + " could not take the replay");
      }
      cursor = e.seq;
    }
    if (page->size() < kReplayPage) break;
  }
  subscription->replayedThrough_ = cursor;
  c->add(std::move(subscriber));
  return subscription;
}

void EventBus::unsubscribe(const std::string& executionId, const std::shared_ptr<Subscriber>& subscriber) {
  std::shared_ptr<Channel> c;
  {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(executionId);
    if (it == channels_.end()) return;
    c = it->second;
  }
  std::lock_guard lock(c->mutex);
  if (auto it = c->position.find(subscriber.get()); it != c->position.end()) c->remove(it->second);
}

void EventBus::Channel::add(std::shared_ptr<Subscriber> s) {
  if (position.count(s.get())) return;
  position[s.get()] = subscribers.size();
  subscribers.push_back(std::move(s));
}

void EventBus::Channel::remove(std::size_t i) {
  position.erase(subscribers[i].get());
  if (i + 1 != subscribers.size()) {
    subscribers[i] = std::move(subscribers.back());
    position[subscribers[i].get()] = i;
  }
  subscribers.pop_back();
}

EventBus::Subscription::~Subscription() { bus_.unsubscribe(executionId_, subscriber_); }

Result<std::vector<Published>> EventBus::poll(const std::string& executionId, std::uint64_t after, std::size_t limit,
                                              std::chrono::milliseconds wait) {
  auto c = channel(executionId);
  {
    std::unique_lock lock(c->mutex);
    if (!c->lastSeqKnown) {
      auto last = store_.lastSeq(executionId);
      if (!last) return tl::unexpected(last.error());
      c->lastSeq = *last;
      c->lastSeqKnown = true;
    }
    auto ready = [&] {
      std::lock_guard busLock(mutex_);
      return c->lastSeq > after || closed_;
    };
    if (!ready() && wait.count() > 0) c->arrived.wait_for(lock, wait, ready);
  }
  auto events = store_.eventsAfter(executionId, after, limit);
  if (!events) return tl::unexpected(events.error());
  std::vector<Published> out;
  out.reserve(events->size());
  for (const auto& e : *events) out.push_back(serialize(e));
  return out;
}

void EventBus::close() {
  std::vector<std::shared_ptr<Channel>> all;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [id, c] : channels_) all.push_back(c);
  }
  for (auto& c : all) {
    { std::lock_guard lock(c->mutex); }
    c->arrived.notify_all();
  }
}

BusStats EventBus::stats() const {
  std::vector<std::shared_ptr<Channel>> all;
  BusStats s;
  {
    std::lock_guard lock(mutex_);
    s.published = published_;
    s.delivered = delivered_;
    s.dropped = dropped_;
    for (const auto& [id, c] : channels_) all.push_back(c);
  }
  for (const auto& c : all) {
    std::lock_guard lock(c->mutex);
    s.subscribers += c->subscribers.size();
  }
  return s;
}

}  // namespace ymy::bus
