// stack_manipulation / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'stack_manipulation', split: 'len_tr40_ts100' },
}
