// reverse / mcrv_tr20_ts40 (SPEC section 3).
{
  data: { task: 'reverse', split: 'mcrv_tr20_ts40' },
}
