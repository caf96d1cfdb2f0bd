// scan / mdlen_tr25_ts48 (SPEC section 3).
{
  data: { task: 'scan', split: 'mdlen_tr25_ts48' },
}
