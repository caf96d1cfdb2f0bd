// parity / len_tr8_ts16 (SPEC section 3).
{
  data: { task: 'parity', split: 'len_tr8_ts16' },
}
