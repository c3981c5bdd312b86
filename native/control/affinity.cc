#include "control/affinity.h"

#include <dirent.h>
#include <sched.h>
#include <rte_lcore.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sluice {
namespace {

// EAL names its lcore threads "rte-worker-<lcore>" (22.11); they are already
// pinned to their own cpusets and must stay there.
bool IsLcoreThread(const std::string& tid) {
  std::string path = "/proc/self/task/" + tid + "/comm";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return false;
  char name[32] = {};
  bool lcore = std::fgets(name, sizeof(name), f) != nullptr && std::strncmp(name, "rte-worker-", 11) == 0;
  std::fclose(f);
  return lcore;
}

}  // namespace

int ConfineControlThreads() {
  rte_cpuset_t main_set = rte_lcore_cpuset(rte_get_main_lcore());
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int moved = 0;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::string tid = e->d_name;
    if (IsLcoreThread(tid)) continue;
    pid_t id = static_cast<pid_t>(std::atoi(e->d_name));
    cpu_set_t current;
    if (sched_getaffinity(id, sizeof(current), &current) != 0 || CPU_EQUAL(&current, &main_set)) continue;
    if (sched_setaffinity(id, sizeof(main_set), &main_set) == 0) moved++;
  }
  closedir(dir);
  return moved;
}

}  // namespace sluice
