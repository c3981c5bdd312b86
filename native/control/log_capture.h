// DPDK's own log lines (EAL, drivers, libraries) captured instead of written
// to stderr, so the control plane can put them into its JSON log with their
// level and type and no raw text is mixed into it. The stream is DPDK's
// (rte_openlog_stream); any thread may log into it, the control thread
// drains it. Bounded: beyond kMaxLines undrained lines, the oldest go and are
// counted.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace sluice {

struct CapturedLog {
  int level;            // RTE_LOG_EMERG (1) .. RTE_LOG_DEBUG (8)
  int type;             // the logtype number; the text names it too ("EAL: ...")
  std::string message;  // one line, without its newline
};

class LogCapture {
 public:
  static LogCapture& Instance();

  // Points DPDK's log at the capture; before rte_eal_init to see its lines too.
  // Idempotent.
  void Install();
  // The lines logged since the last drain, oldest first; `dropped` gets how many
  // were lost to the bound meanwhile.
  std::vector<CapturedLog> Drain(uint64_t* dropped);

  static constexpr size_t kMaxLines = 1024;

 private:
  static ssize_t Write(void* cookie, const char* data, size_t size);
  void Append(const char* data, size_t size, int level, int type);

  std::mutex mutex_;
  std::deque<CapturedLog> lines_;
  std::string partial_;  // a line whose newline has not come yet
  uint64_t dropped_ = 0;
  FILE* stream_ = nullptr;
};

}  // namespace sluice
