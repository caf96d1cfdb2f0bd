// An exclusive lock on a run directory for the life of a run, so that two lengen processes (two
// sweeps launched on one grid, a train and a sweep on one --out) never write the same run: the
// second one stops with an error naming the directory and the holder's pid. flock(2) on
// "<dir>/.lock": the kernel drops it when the holder exits, also on kill -9, so a killed run
// never leaves a stale lock. Re-entrant within a process (a task run locks, then its training
// locks the same directory again).
#pragma once
#include <string>

namespace lengen::io {

class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& dir);  // creates dir if needed; throws if held elsewhere
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  std::string key_;
};

}  // namespace lengen::io
