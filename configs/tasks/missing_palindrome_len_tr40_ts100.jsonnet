// missing_palindrome / len_tr40_ts100 (the Chomsky-hierarchy repository's extra tasks: docs/tasks.md).
{
  data: { task: 'missing_palindrome', split: 'len_tr40_ts100' },
}
