#include "control/log_capture.h"

#include <rte_log.h>

namespace sluice {

LogCapture& LogCapture::Instance() {
  static LogCapture capture;
  return capture;
}

void LogCapture::Install() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stream_ != nullptr) return;
  cookie_io_functions_t io{};
  io.write = &LogCapture::Write;
  stream_ = fopencookie(this, "w", io);
  if (stream_ != nullptr) rte_openlog_stream(stream_);
}

ssize_t LogCapture::Write(void* cookie, const char* data, size_t size) {
  // rte_vlog flushes after each message, so this runs while the message's
  // level and type are still the thread's current ones.
  static_cast<LogCapture*>(cookie)->Append(data, size, rte_log_cur_msg_loglevel(), rte_log_cur_msg_logtype());
  return static_cast<ssize_t>(size);
}

void LogCapture::Append(const char* data, size_t size, int level, int type) {
  std::lock_guard<std::mutex> lock(mutex_);
  partial_.append(data, size);
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl == start) continue;
    if (lines_.size() == kMaxLines) {
      lines_.pop_front();
      dropped_++;
    }
    lines_.push_back(CapturedLog{level, type, partial_.substr(start, nl - start)});
  }
  partial_.erase(0, start);
}

std::vector<CapturedLog> LogCapture::Drain(uint64_t* dropped) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CapturedLog> out(std::make_move_iterator(lines_.begin()), std::make_move_iterator(lines_.end()));
  lines_.clear();
  *dropped = dropped_;
  dropped_ = 0;
  return out;
}

}  // namespace sluice
