// cycle_navigation / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'cycle_navigation', split: 'len_tr40_ts100' },
}
