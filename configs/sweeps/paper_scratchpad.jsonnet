// The paper's scratchpad study: the tasks with scratchpads x formats (none, the full one, and
// single-part ones) x the five encodings x 3 seeds on the `paper` preset. `lengen report` shows
// the formats side by side (its "Scratchpad formats" table).
local paper = import 'paper.jsonnet';
paper {
  name: 'paper_scratchpad',
  axes+: {
    task: ['addition_len_tr8_ts16', 'sum_len_tr8_ts16', 'parity_len_tr8_ts16', 'sort_len_sngd_tr8_ts16',
           'lego_len_tr8_ts16'],
    scratchpad: ['', 'i1_c1_o1_v1_r1', 'i0_c1_o0_v0_r0', 'i0_c0_o1_v0_r0', 'i0_c0_o0_v0_r1'],
  },
}
