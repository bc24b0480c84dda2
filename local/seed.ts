import { Client } from "@planetscale/database";
import { count, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/planetscale-serverless";
import { addDays, zonedMidnight } from "../workers/api/festivals/calendar.ts";
import { chunks, dayRows, festivalRow, gramRows } from "../workers/api/festivals/rows.ts";
import type { CreateFestivalInput } from "../workers/api/festivals/schemas.ts";
import { festivalDays, festivalSearchGrams, festivals } from "../workers/db/schema/festivals.ts";

/**
 * Demo festivals for `npm run dev`, dated around today so every status shows: ended, ongoing,
 * on sale (sale opens 45 days before the first day) and upcoming (further out). One is cancelled.
 * `startIn` is days from today in the festival's own timezone; `days` is how long it runs.
 */
interface Seed {
  title: string;
  description: string;
  category: string;
  region: string;
  venue: [name: string, address: string, lat: number, lng: number];
  timezone: string;
  startIn: number;
  days: number;
  capacity: number;
  tags: string[];
  cancelled?: string;
}

const KST = "Asia/Seoul";
const SEEDS: Seed[] = [
  {
    title: "서울세계불꽃축제",
    description: "한강 위 밤하늘을 수놓는 한국·일본·이탈리아 팀의 불꽃 쇼.",
    category: "fireworks",
    region: "서울",
    venue: ["여의도 한강공원", "서울 영등포구 여의동로 330", 37.5284, 126.9327],
    timezone: KST,
    startIn: 0,
    days: 1,
    capacity: 20000,
    tags: ["불꽃", "한강", "야경"],
  },
  {
    title: "자라섬 재즈 페스티벌 Jarasum Jazz Festival",
    description: "북한강 자라섬에서 열리는 아시아 대표 재즈 축제.",
    category: "music",
    region: "경기",
    venue: ["자라섬", "경기 가평군 가평읍 달전리 1", 37.8169, 127.5255],
    timezone: KST,
    startIn: 12,
    days: 3,
    capacity: 8000,
    tags: ["jazz", "재즈", "캠핑"],
  },
  {
    title: "보령머드축제 Boryeong Mud Festival",
    description: "대천해수욕장의 머드 체험, 머드 슬라이드와 해변 공연.",
    category: "culture",
    region: "충남",
    venue: ["대천해수욕장", "충남 보령시 신흑동 1029", 36.3156, 126.5136],
    timezone: KST,
    startIn: -40,
    days: 10,
    capacity: 15000,
    tags: ["머드", "해변", "여름"],
  },
  {
    title: "진해군항제",
    description: "벚꽃 36만 그루가 피는 군항 도시의 봄 축제.",
    category: "nature",
    region: "경남",
    venue: ["중원로터리 일원", "경남 창원시 진해구 중원로", 35.1517, 128.66],
    timezone: KST,
    startIn: 110,
    days: 10,
    capacity: 30000,
    tags: ["벚꽃", "봄"],
  },
  {
    title: "부산국제영화제 BIFF",
    description: "아시아 최대 영화제. 상영과 관객과의 대화, 야외무대 인사.",
    category: "film",
    region: "부산",
    venue: ["영화의전당", "부산 해운대구 수영강변대로 120", 35.1711, 129.127],
    timezone: KST,
    startIn: -3,
    days: 10,
    capacity: 4000,
    tags: ["영화", "film"],
  },
  {
    title: "안동국제탈춤페스티벌",
    description: "하회별신굿탈놀이와 세계 탈춤 공연이 한자리에.",
    category: "traditional",
    region: "경북",
    venue: ["탈춤공원", "경북 안동시 육사로 239", 36.5647, 128.726],
    timezone: KST,
    startIn: -25,
    days: 10,
    capacity: 6000,
    tags: ["탈춤", "전통"],
  },
  {
    title: "진주남강유등축제",
    description: "남강 위에 띄운 수천 개의 유등이 밝히는 가을 밤.",
    category: "traditional",
    region: "경남",
    venue: ["진주성 일원", "경남 진주시 남강로 626", 35.1897, 128.0817],
    timezone: KST,
    startIn: 5,
    days: 14,
    capacity: 12000,
    tags: ["유등", "야경"],
  },
  {
    title: "화천산천어축제",
    description: "얼음낚시와 맨손잡기, 얼음썰매의 겨울 축제.",
    category: "winter",
    region: "강원",
    venue: ["화천천 일원", "강원 화천군 화천읍 산천어길 137", 38.1063, 127.7082],
    timezone: KST,
    startIn: 50,
    days: 23,
    capacity: 10000,
    tags: ["얼음낚시", "겨울"],
  },
  {
    title: "함평나비축제",
    description: "나비 생태관과 꽃단지를 거니는 봄 가족 축제.",
    category: "nature",
    region: "전남",
    venue: ["함평엑스포공원", "전남 함평군 함평읍 곤재로 27", 35.065, 126.517],
    timezone: KST,
    startIn: 150,
    days: 10,
    capacity: 9000,
    tags: ["나비", "가족"],
  },
  {
    title: "전주국제영화제 JEONJU IFF",
    description: "독립·예술 영화의 축제, 전주 영화의 거리 일원.",
    category: "film",
    region: "전북",
    venue: ["전주 영화의거리", "전북 전주시 완산구 전주객사3길 22", 35.8181, 127.145],
    timezone: KST,
    startIn: 160,
    days: 10,
    capacity: 3000,
    tags: ["영화", "독립영화"],
  },
  {
    title: "인천펜타포트 락 페스티벌 Pentaport Rock Festival",
    description: "송도 달빛축제공원의 한여름 록 페스티벌.",
    category: "music",
    region: "인천",
    venue: ["송도 달빛축제공원", "인천 연수구 송도동 7-1", 37.3925, 126.643],
    timezone: KST,
    startIn: -100,
    days: 3,
    capacity: 25000,
    tags: ["rock", "록"],
  },
  {
    title: "서울재즈페스티벌 Seoul Jazz Festival",
    description: "올림픽공원에서 열리는 봄의 재즈·팝 페스티벌.",
    category: "music",
    region: "서울",
    venue: ["올림픽공원", "서울 송파구 올림픽로 424", 37.5206, 127.1214],
    timezone: KST,
    startIn: 30,
    days: 3,
    capacity: 18000,
    tags: ["jazz", "재즈"],
  },
  {
    title: "강릉단오제",
    description: "유네스코 인류무형문화유산, 천년을 이어 온 단오 굿과 놀이.",
    category: "traditional",
    region: "강원",
    venue: ["남대천 단오장", "강원 강릉시 단오장길 1", 37.7519, 128.8961],
    timezone: KST,
    startIn: -8,
    days: 8,
    capacity: 7000,
    tags: ["단오", "유네스코"],
  },
  {
    title: "이천도자기축제",
    description: "도자기 빚기 체험과 명장 작품 전시, 도자 장터.",
    category: "craft",
    region: "경기",
    venue: ["이천 예스파크", "경기 이천시 신둔면 도자예술로5번길 109", 37.285, 127.46],
    timezone: KST,
    startIn: 20,
    days: 10,
    capacity: 5000,
    tags: ["도자기", "체험"],
  },
  {
    title: "금산인삼축제",
    description: "인삼 캐기 체험과 인삼 요리 장터.",
    category: "food",
    region: "충남",
    venue: ["금산인삼관 일원", "충남 금산군 금산읍 인삼광장로 30", 36.106, 127.488],
    timezone: KST,
    startIn: -15,
    days: 10,
    capacity: 6000,
    tags: ["인삼", "먹거리"],
  },
  {
    title: "제주들불축제",
    description: "새별오름 억새 들판을 태우는 장관의 불 놓기.",
    category: "traditional",
    region: "제주",
    venue: ["새별오름", "제주 제주시 애월읍 봉성리 산59-8", 33.366, 126.357],
    timezone: KST,
    startIn: 70,
    days: 4,
    capacity: 8000,
    tags: ["불놓기", "오름"],
    cancelled: "산불 위험으로 취소되었습니다",
  },
  {
    title: "수원화성문화제",
    description: "정조대왕 능행차 재현과 화성 성곽의 야간 공연.",
    category: "culture",
    region: "경기",
    venue: ["수원화성 일원", "경기 수원시 팔달구 정조로 825", 37.282, 127.019],
    timezone: KST,
    startIn: 40,
    days: 3,
    capacity: 9000,
    tags: ["정조", "능행차"],
  },
  {
    title: "광안리 어방축제",
    description: "수영 전통 어로 재현과 해변 불꽃, 광안대교 야경.",
    category: "culture",
    region: "부산",
    venue: ["광안리해수욕장", "부산 수영구 광안해변로 219", 35.1532, 129.1186],
    timezone: KST,
    startIn: -1,
    days: 3,
    capacity: 10000,
    tags: ["해변", "불꽃"],
  },
  {
    title: "대구치맥페스티벌",
    description: "치킨과 맥주, 야외 공연의 여름밤 축제.",
    category: "food",
    region: "대구",
    venue: ["두류공원", "대구 달서구 공원순환로 36", 35.849, 128.558],
    timezone: KST,
    startIn: 90,
    days: 5,
    capacity: 20000,
    tags: ["치맥", "맥주"],
  },
  {
    title: "춘천마임축제",
    description: "거리와 호숫가에서 펼쳐지는 마임·거리극.",
    category: "performing-arts",
    region: "강원",
    venue: ["공지천 일원", "강원 춘천시 스포츠타운길 223", 37.874, 127.71],
    timezone: KST,
    startIn: 8,
    days: 8,
    capacity: 4000,
    tags: ["마임", "거리극"],
  },
  {
    title: "Glastonbury Festival",
    description: "Five days of contemporary music and performing arts on Worthy Farm.",
    category: "music",
    region: "United Kingdom",
    venue: ["Worthy Farm", "Pilton, Somerset BA4 4BY", 51.1537, -2.585],
    timezone: "Europe/London",
    startIn: 130,
    days: 5,
    capacity: 200000,
    tags: ["music", "camping"],
  },
  {
    title: "Fuji Rock Festival フジロック",
    description: "Japan's biggest outdoor rock festival in the Naeba mountains.",
    category: "music",
    region: "Japan",
    venue: ["Naeba Ski Resort", "Yuzawa, Niigata", 36.8336, 138.7797],
    timezone: "Asia/Tokyo",
    startIn: 35,
    days: 3,
    capacity: 40000,
    tags: ["rock", "outdoor"],
  },
  {
    title: "Sapporo Snow Festival さっぽろ雪まつり",
    description: "Giant snow and ice sculptures along Odori Park.",
    category: "winter",
    region: "Japan",
    venue: ["Odori Park", "Odori Nishi, Chuo-ku, Sapporo", 43.0595, 141.3489],
    timezone: "Asia/Tokyo",
    startIn: 75,
    days: 8,
    capacity: 50000,
    tags: ["snow", "sculpture"],
  },
  {
    title: "Oktoberfest",
    description: "The world's largest beer festival on the Theresienwiese.",
    category: "food",
    region: "Germany",
    venue: ["Theresienwiese", "Bavariaring, 80336 München", 48.1316, 11.5497],
    timezone: "Europe/Berlin",
    startIn: -50,
    days: 16,
    capacity: 100000,
    tags: ["beer", "bavaria"],
  },
  {
    title: "Edinburgh Festival Fringe",
    description: "The largest arts festival in the world: theatre, comedy, dance.",
    category: "performing-arts",
    region: "United Kingdom",
    venue: ["Royal Mile", "High Street, Edinburgh EH1", 55.9533, -3.1883],
    timezone: "Europe/London",
    startIn: -20,
    days: 25,
    capacity: 30000,
    tags: ["comedy", "theatre"],
  },
  {
    title: "Coachella Valley Music and Arts Festival",
    description: "Music and art installations in the Colorado Desert.",
    category: "music",
    region: "United States",
    venue: ["Empire Polo Club", "81-800 Avenue 51, Indio, CA", 33.6803, -116.237],
    timezone: "America/Los_Angeles",
    startIn: 140,
    days: 3,
    capacity: 125000,
    tags: ["music", "desert"],
  },
  {
    title: "Rio Carnival Carnaval do Rio",
    description: "Samba school parades at the Sambadrome.",
    category: "culture",
    region: "Brazil",
    venue: ["Sambódromo da Marquês de Sapucaí", "R. Marquês de Sapucaí, Rio de Janeiro", -22.9116, -43.1968],
    timezone: "America/Sao_Paulo",
    startIn: 85,
    days: 6,
    capacity: 70000,
    tags: ["samba", "parade"],
  },
  {
    title: "La Tomatina",
    description: "The tomato fight in the streets of Buñol.",
    category: "food",
    region: "Spain",
    venue: ["Plaza del Pueblo", "Buñol, Valencia", 39.42, -0.79],
    timezone: "Europe/Madrid",
    startIn: -70,
    days: 1,
    capacity: 20000,
    tags: ["tomato"],
  },
  {
    title: "Vivid Sydney",
    description: "Light installations, music and ideas around Circular Quay.",
    category: "art",
    region: "Australia",
    venue: ["Circular Quay", "Sydney NSW 2000", -33.861, 151.2108],
    timezone: "Australia/Sydney",
    startIn: -5,
    days: 23,
    capacity: 60000,
    tags: ["light", "art"],
  },
  {
    title: "Songkran Festival สงกรานต์",
    description: "Thai New Year water festival on Silom Road.",
    category: "culture",
    region: "Thailand",
    venue: ["Silom Road", "Silom, Bang Rak, Bangkok", 13.729, 100.534],
    timezone: "Asia/Bangkok",
    startIn: 25,
    days: 3,
    capacity: 50000,
    tags: ["water", "new year"],
  },
  {
    title: "Montreux Jazz Festival",
    description: "Two weeks of jazz and beyond on the shore of Lake Geneva.",
    category: "music",
    region: "Switzerland",
    venue: ["Montreux Music & Convention Centre", "Avenue Claude Nobs 5, Montreux", 46.4312, 6.9107],
    timezone: "Europe/Zurich",
    startIn: 60,
    days: 16,
    capacity: 15000,
    tags: ["jazz"],
  },
  {
    title: "Harbin Ice and Snow Festival 哈尔滨冰雪节",
    description: "Illuminated ice palaces at Harbin Ice and Snow World.",
    category: "winter",
    region: "China",
    venue: ["Harbin Ice and Snow World", "Songbei District, Harbin", 45.779, 126.579],
    timezone: "Asia/Shanghai",
    startIn: 15,
    days: 30,
    capacity: 40000,
    tags: ["ice", "snow"],
  },
  {
    title: "Tomorrowland",
    description: "Electronic music festival in the woods of De Schorre.",
    category: "music",
    region: "Belgium",
    venue: ["De Schorre", "Schommelei 1, 2850 Boom", 51.0917, 4.3833],
    timezone: "Europe/Brussels",
    startIn: -130,
    days: 6,
    capacity: 70000,
    tags: ["edm", "electronic"],
  },
  {
    title: "Gion Matsuri 祇園祭",
    description: "Kyoto's great summer festival and the Yamaboko float procession.",
    category: "traditional",
    region: "Japan",
    venue: ["Yasaka Shrine", "625 Gionmachi Kitagawa, Higashiyama-ku, Kyoto", 35.0037, 135.7788],
    timezone: "Asia/Tokyo",
    startIn: 3,
    days: 3,
    capacity: 30000,
    tags: ["matsuri", "float"],
  },
];

const todayIn = (timeZone: string) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date());
const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "") || "festival";

function toInput(seed: Seed): CreateFestivalInput {
  const startDate = addDays(todayIn(seed.timezone), seed.startIn);
  const endDate = addDays(startDate, seed.days - 1);
  const [name, address, lat, lng] = seed.venue;
  return {
    title: seed.title,
    description: seed.description,
    category: seed.category,
    region: seed.region,
    venue: { name, address, lat, lng },
    startDate,
    endDate,
    timezone: seed.timezone,
    capacity: seed.capacity,
    perUserLimit: 4,
    // Sale opens 45 days ahead at 10:00 local time and runs until the last day begins.
    saleOpensAt: new Date(
      zonedMidnight(addDays(startDate, -45), seed.timezone).getTime() + 10 * 3_600_000,
    ).toISOString(),
    saleClosesAt: zonedMidnight(endDate, seed.timezone).toISOString(),
    imageUrl: `https://picsum.photos/seed/${slug(seed.title)}-${seed.startIn}/800/450`,
    tags: seed.tags,
  };
}

/** Seeds only an empty festivals table, so restarts keep whatever was created meanwhile. */
export async function seedDemoData(databaseUrl: string): Promise<string | undefined> {
  const db = drizzle({ client: new Client({ url: databaseUrl }) });
  const [existing] = await db.select({ n: count() }).from(festivals);
  if ((existing?.n ?? 0) > 0) return undefined;
  for (const seed of SEEDS) {
    const input = toInput(seed);
    const row = festivalRow(input);
    if (seed.cancelled) Object.assign(row, { cancelledAt: new Date(), cancelReason: seed.cancelled });
    await db.transaction(async (tx) => {
      const [inserted] = await tx.insert(festivals).values(row).$returningId();
      if (!inserted) throw new Error(`seed: no id for ${seed.title}`);
      await tx.insert(festivalDays).values(dayRows(inserted.id, input));
      for (const grams of chunks(gramRows(inserted.id, row.searchText)))
        await tx.insert(festivalSearchGrams).values(grams);
    });
  }
  // Each festival's chat room, as the admin route makes it (the chat area also creates a missing room on join).
  await db
    .execute(
      sql`insert ignore into chat_rooms (festival_id, created_at, updated_at) select id, now(3), now(3) from festivals`,
    )
    .catch((err: unknown) =>
      console.warn(`[seed] chat rooms not created: ${err instanceof Error ? err.message : err}`),
    );
  return `seeded ${SEEDS.length} festivals`;
}
