// scan / len_tr25_ts48 (SPEC section 3).
{
  data: { task: 'scan', split: 'len_tr25_ts48' },
}
