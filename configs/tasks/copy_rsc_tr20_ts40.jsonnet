// copy / rsc_tr20_ts40 (SPEC section 3).
{
  data: { task: 'copy', split: 'rsc_tr20_ts40' },
}
