// Jeju island, traced by hand for this dashboard from well-known coastal places (harbours,
// beaches, headlands), about one point per kilometre: good to a few hundred metres, which is
// all a fleet map needs. Points are [longitude, latitude], clockwise from Hallim harbour.

export const COAST = [
  [126.26, 33.415], [126.27, 33.428], [126.283, 33.439], [126.304, 33.451], // Hallim, Gwideok, Gwakji
  [126.309, 33.464], [126.325, 33.47], [126.34, 33.4735], [126.36, 33.479], // Aewol, Gueom
  [126.38, 33.483], [126.405, 33.488], [126.43, 33.492], [126.453, 33.498], // Hagwi, Oedo, Iho
  [126.465, 33.508], [126.49, 33.514], [126.512, 33.517], [126.524, 33.521], // Dodu, Yongduam, Tapdong
  [126.542, 33.525], [126.556, 33.522], [126.57, 33.524], [126.586, 33.527], // Jeju port, Hwabuk, Samyang
  [126.605, 33.533], [126.62, 33.538], [126.635, 33.544], [126.652, 33.543], // Sinchon, Jocheon
  [126.67, 33.545], [126.695, 33.553], [126.718, 33.556], [126.737, 33.557], // Hamdeok, Bukchon, Dongbok
  [126.755, 33.559], [126.775, 33.558], [126.793, 33.557], [126.81, 33.55], // Gimnyeong, Woljeong
  [126.825, 33.543], [126.84, 33.535], [126.858, 33.525], [126.872, 33.519], // Pyeongdae, Sehwa
  [126.885, 33.513], [126.896, 33.506], [126.905, 33.498], [126.908, 33.488], // Hado, Jongdal
  [126.908, 33.478], [126.923, 33.467], [126.933, 33.465], [126.94, 33.463], // Siheung, Ojo
  [126.946, 33.459], [126.942, 33.453], [126.932, 33.452], [126.928, 33.449], // Seongsan Ilchulbong
  [126.922, 33.437], [126.927, 33.43], [126.931, 33.424], [126.92, 33.415], // Sinyang, Seopjikoji
  [126.905, 33.405], [126.892, 33.392], [126.88, 33.38], [126.87, 33.368], // Onpyeong, Sinsan
  [126.86, 33.355], [126.85, 33.34], [126.842, 33.325], [126.83, 33.313], // Samdal, Pyoseon
  [126.82, 33.308], [126.8, 33.303], [126.78, 33.298], [126.75, 33.286], // Taeheung
  [126.72, 33.275], [126.69, 33.272], [126.663, 33.269], [126.643, 33.26], // Namwon, Wimi
  [126.623, 33.252], [126.595, 33.244], [126.578, 33.241], [126.562, 33.237], // Soesokkak, Seogwipo
  [126.545, 33.239], [126.53, 33.235], [126.515, 33.232], [126.5, 33.23], // Oedolgae, Beophwan
  [126.485, 33.228], [126.46, 33.233], [126.44, 33.235], [126.425, 33.237], // Gangjeong, Daepo
  [126.411, 33.244], [126.39, 33.238], [126.37, 33.235], [126.35, 33.237], // Jungmun, Yerae
  [126.335, 33.238], [126.313, 33.232], [126.298, 33.224], [126.293, 33.21], // Hwasun, Sanbangsan
  [126.29, 33.2], [126.275, 33.205], [126.26, 33.212], [126.25, 33.218], // Songaksan, Moseulpo
  [126.238, 33.222], [126.225, 33.23], [126.21, 33.243], [126.195, 33.26], // Ilgwa, Yeongnak
  [126.18, 33.278], [126.163, 33.295], [126.162, 33.305], [126.165, 33.325], // Suwolbong, Yongsu
  [126.178, 33.345], [126.188, 33.355], [126.199, 33.363], [126.213, 33.376], // Sinchang, Panpo
  [126.227, 33.389], [126.239, 33.394], [126.252, 33.407], // Geumneung, Hyeopjae
];

export const ISLETS = [
  {
    name: "Udo",
    ring: [
      [126.944, 33.505], [126.947, 33.516], [126.954, 33.525], [126.964, 33.522],
      [126.97, 33.512], [126.968, 33.499], [126.959, 33.49], [126.949, 33.492],
    ],
  },
  {
    name: "Biyangdo",
    ring: [[126.224, 33.409], [126.227, 33.412], [126.232, 33.41], [126.233, 33.406], [126.228, 33.404]],
  },
  {
    name: "Chagwido",
    ring: [[126.141, 33.309], [126.145, 33.312], [126.15, 33.309], [126.147, 33.305], [126.142, 33.306]],
  },
  {
    name: "Gapado",
    ring: [[126.266, 33.172], [126.273, 33.175], [126.279, 33.17], [126.276, 33.162], [126.268, 33.163]],
  },
  {
    name: "Marado",
    ring: [[126.265, 33.123], [126.269, 33.122], [126.27, 33.115], [126.267, 33.111], [126.264, 33.116]],
  },
];

export const HALLASAN = { name: "Hallasan", elevation: "1,947 m", lon: 126.533, lat: 33.362 };

// Faint orientation labels; none sits where the site callouts below go.
export const PLACES = [
  { name: "Hallim", lon: 126.275, lat: 33.405 },
  { name: "Seongsan", lon: 126.885, lat: 33.452 },
  { name: "Udo", lon: 126.957, lat: 33.532 },
  { name: "Moseulpo", lon: 126.262, lat: 33.228 },
  { name: "Pyoseon", lon: 126.815, lat: 33.33 },
  { name: "Marado", lon: 126.267, lat: 33.128 },
];

// The part of the world the map shows: the island with room in the sea for the site callouts.
export const BOUNDS = { west: 126.1, east: 127.02, south: 33.08, north: 33.67 };

// Where each known site's callout goes, relative to the site, in kilometres east and north:
// out to sea and apart from each other (Emart Jeju and Emart Shinjeju are only 4.5 km apart).
// Sites not named here get a callout pushed outwards from the island's centre.
export const CALLOUTS = {
  "Emart Jeju": { east: 10.5, north: 10.5 },
  "Emart Shinjeju": { east: -13, north: 9.5 },
  "Emart Seogwipo": { east: 0, north: -9.5 },
};
