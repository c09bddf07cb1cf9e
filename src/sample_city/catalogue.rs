//! What the sample city is made of: departments, per-class component densities
//! and owners, public service categories, road names and routing rules.

use std::collections::HashMap;
use std::sync::OnceLock;

/// (code, name, phone)
pub const DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("urban-mgmt", "宝鸡市城市管理执法局", "0917-3261234"),
    ("urban-mgmt-jt", "金台区城市管理执法局", "0917-3512345"),
    ("urban-mgmt-wb", "渭滨区城市管理执法局", "0917-3231234"),
    ("sanitation-jt", "金台区环境卫生管理所", "0917-3515678"),
    ("sanitation-wb", "渭滨区环境卫生管理所", "0917-3235678"),
    ("water-co", "宝鸡市自来水有限公司", "0917-3210000"),
    ("drainage-co", "宝鸡市排水有限公司", "0917-3220000"),
    ("power-co", "国网宝鸡供电公司", "0917-95598"),
    ("streetlight", "宝鸡市路灯管理所", "0917-3250000"),
    ("telecom-co", "中国电信宝鸡分公司", "0917-10000"),
    ("cable-tv", "陕西广电网络宝鸡分公司", "0917-96766"),
    ("heat-co", "宝鸡市热力有限公司", "0917-3270000"),
    ("gas-co", "宝鸡市燃气有限公司", "0917-3280000"),
    ("public-security", "宝鸡市公安局", "0917-110"),
    ("fire", "宝鸡市消防救援支队", "0917-119"),
    ("traffic-police", "宝鸡市公安局交通警察支队", "0917-122"),
    ("transport", "宝鸡市交通运输局", "0917-3290000"),
    ("municipal", "宝鸡市市政设施管理处", "0917-3300000"),
    ("parking", "宝鸡市停车管理中心", "0917-3310000"),
    ("greening", "宝鸡市园林绿化管理局", "0917-3320000"),
    ("post", "中国邮政集团宝鸡分公司", "0917-11185"),
    ("sports", "宝鸡市体育局", "0917-3330000"),
    ("ecology", "宝鸡市生态环境局", "0917-3340000"),
    ("weather", "宝鸡市气象局", "0917-3350000"),
    ("civil-defence", "宝鸡市人民防空办公室", "0917-3360000"),
    ("emergency", "宝鸡市应急管理局", "0917-3370000"),
    ("housing", "宝鸡市住房和城乡建设局", "0917-3380000"),
    ("water-affairs", "宝鸡市水利局", "0917-3390000"),
    ("market-reg", "宝鸡市市场监督管理局", "0917-12315"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Along every road: `per_100m` per 100 m of road.
    Road,
    /// Along main roads only (every fifth lattice line).
    MainRoad,
    /// At intersections: `per_100m` is the probability per intersection.
    Intersection,
    /// Inside blocks: `per_100m` is the probability per block.
    Block,
}

pub struct ComponentRate {
    pub class: &'static str,
    pub placement: Placement,
    pub per_100m: f64,
    pub competent: &'static str,
}

const fn rate(
    class: &'static str,
    placement: Placement,
    per_100m: f64,
    competent: &'static str,
) -> ComponentRate {
    ComponentRate {
        class,
        placement,
        per_100m,
        competent,
    }
}

use Placement::{Block, Intersection, MainRoad, Road};

/// Densities, tuned to ~25 components per unit grid (a 10,000 m² block has
/// about 200 m of road of its own), every major class present.
pub const COMPONENT_RATES: &[ComponentRate] = &[
    rate("0101", Road, 0.6, "water-co"),
    rate("0102", Road, 0.6, "drainage-co"),
    rate("0103", Road, 0.5, "drainage-co"),
    rate("0104", Road, 1.2, "drainage-co"),
    rate("0105", Road, 0.3, "power-co"),
    rate("0106", Road, 0.25, "streetlight"),
    rate("0107", Road, 0.35, "telecom-co"),
    rate("0108", Road, 0.1, "cable-tv"),
    rate("0109", Road, 0.1, "telecom-co"),
    rate("0110", Road, 0.2, "heat-co"),
    rate("0111", Road, 0.3, "gas-co"),
    rate("0112", Road, 0.05, "public-security"),
    rate("0113", Intersection, 0.35, "fire"),
    rate("0114", Road, 0.03, "urban-mgmt"),
    rate("0115", Road, 0.08, "telecom-co"),
    rate("0116", Road, 0.08, "power-co"),
    rate("0117", Road, 0.3, "power-co"),
    rate("0118", Road, 2.5, "streetlight"),
    rate("0119", Block, 0.05, "streetlight"),
    rate("0120", Block, 0.05, "streetlight"),
    rate("0121", Intersection, 0.03, "urban-mgmt"),
    rate("0122", Intersection, 0.02, "telecom-co"),
    rate("0123", Intersection, 0.03, "post"),
    rate("0124", Intersection, 0.02, "urban-mgmt"),
    rate("0125", Block, 0.05, "market-reg"),
    rate("0126", Block, 0.08, "sports"),
    rate("0201", Block, 0.08, "parking"),
    rate("0202", Road, 0.1, "parking"),
    rate("0203", MainRoad, 0.3, "transport"),
    rate("0204", Intersection, 0.01, "transport"),
    rate("0205", MainRoad, 0.01, "municipal"),
    rate("0206", Block, 0.003, "municipal"),
    rate("0207", Block, 0.001, "municipal"),
    rate("0209", Road, 0.2, "traffic-police"),
    rate("0210", Intersection, 0.1, "traffic-police"),
    rate("0211", MainRoad, 0.5, "traffic-police"),
    rate("0212", Road, 0.1, "municipal"),
    rate("0213", Intersection, 0.5, "municipal"),
    rate("0214", Intersection, 0.05, "traffic-police"),
    rate("0215", MainRoad, 0.02, "traffic-police"),
    rate("0216", MainRoad, 0.01, "municipal"),
    rate("0217", Intersection, 0.01, "traffic-police"),
    rate("0301", Block, 0.06, "urban-mgmt"),
    rate("0302", Block, 0.05, "drainage-co"),
    rate("0303", Block, 0.06, "urban-mgmt"),
    rate("0304", Block, 0.1, "urban-mgmt"),
    rate("0305", Road, 0.8, "urban-mgmt"),
    rate("0306", Road, 0.05, "urban-mgmt"),
    rate("0307", Road, 0.2, "urban-mgmt"),
    rate("0308", Block, 0.003, "ecology"),
    rate("0309", Block, 0.002, "weather"),
    rate("0310", Block, 0.002, "ecology"),
    rate("0401", Block, 0.01, "greening"),
    rate("0402", Road, 3.0, "greening"),
    rate("0403", Road, 0.3, "greening"),
    rate("0404", Road, 0.1, "greening"),
    rate("0405", Block, 0.15, "greening"),
    rate("0406", Block, 0.01, "greening"),
    rate("0407", Road, 0.1, "greening"),
    rate("0408", Block, 0.05, "greening"),
    rate("0409", Block, 0.02, "greening"),
    rate("0410", Block, 0.005, "greening"),
    rate("0501", Road, 0.03, "urban-mgmt"),
    rate("0502", Block, 0.01, "civil-defence"),
    rate("0601", Block, 0.003, "emergency"),
    rate("0602", Block, 0.02, "housing"),
];

pub struct ComponentInfo {
    pub name: &'static str,
    pub competent: &'static str,
}

fn class_names() -> &'static HashMap<String, &'static str> {
    static NAMES: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        super::CLASSES_CSV
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&'static str> = l.split(',').collect();
                (f.len() >= 5 && f[0] == "component").then(|| (f[1].to_owned(), f[4]))
            })
            .collect()
    })
}

pub fn component_info(class: &str) -> ComponentInfo {
    let competent = COMPONENT_RATES
        .iter()
        .find(|r| r.class == class)
        .map(|r| r.competent)
        .unwrap_or("urban-mgmt");
    ComponentInfo {
        name: class_names().get(class).copied().unwrap_or("部件"),
        competent,
    }
}

/// Sanitation facilities belong to the district's sanitation office; the rest
/// to the competent department.
pub fn owner(class: &str, district: &str) -> String {
    match class {
        "0301" | "0303" | "0304" | "0305" => district_department("sanitation", district),
        _ => component_info(class).competent.to_owned(),
    }
}

/// `sanitation` + 610303 → `sanitation-jt` (金台), 610302 → `sanitation-wb` (渭滨).
pub fn district_department(base: &str, district: &str) -> String {
    match district {
        "610303" => format!("{base}-jt"),
        _ => format!("{base}-wb"),
    }
}

pub struct ServiceCategory {
    pub category: &'static str,
    pub weight: f64,
    pub hours: &'static str,
}

const fn svc(category: &'static str, weight: f64, hours: &'static str) -> ServiceCategory {
    ServiceCategory {
        category,
        weight,
        hours,
    }
}

pub const SERVICE_CATEGORIES: &[ServiceCategory] = &[
    svc("bus_stop", 28.0, "06:00-22:00"),
    svc("toilet", 14.0, "00:00-24:00"),
    svc("pharmacy", 12.0, "08:00-22:00"),
    svc("clinic", 8.0, "08:00-18:00"),
    svc("bank", 8.0, "09:00-17:00"),
    svc("school", 7.0, "07:30-18:00"),
    svc("post_office", 5.0, "08:30-17:30"),
    svc("police", 5.0, "00:00-24:00"),
    svc("gov_service", 4.0, "09:00-17:00"),
    svc("hospital", 3.0, "00:00-24:00"),
];

pub fn service_name(category: &str, road: &str, community: &str, street: &str, n: usize) -> String {
    const PHARMACIES: [&str; 5] = [
        "老百姓大药房",
        "海王星辰",
        "国大药房",
        "益丰大药房",
        "宝鸡医药",
    ];
    const BANKS: [&str; 5] = [
        "中国工商银行",
        "中国建设银行",
        "中国农业银行",
        "中国银行",
        "宝鸡农商银行",
    ];
    match category {
        "bus_stop" => format!("{road}站"),
        "toilet" => format!("{road}公共厕所"),
        "pharmacy" => format!("{}({road}店)", PHARMACIES[n % PHARMACIES.len()]),
        "clinic" => format!("{community}卫生服务站"),
        "bank" => format!("{}宝鸡{road}支行", BANKS[n % BANKS.len()]),
        "school" => format!("宝鸡市{road}小学"),
        "post_office" => format!("宝鸡{road}邮政支局"),
        "police" => format!("{}派出所", street.trim_end_matches("街道")),
        "gov_service" => format!("{street}便民服务中心"),
        "hospital" => format!(
            "宝鸡市第{}人民医院",
            ["一", "二", "三", "四", "五", "六"][n % 6]
        ),
        other => format!("{road}{other}"),
    }
}

/// Road names in Chinese and English.
pub const ROAD_NAMES: &[(&str, &str)] = &[
    ("经一路", "Jingyi Rd"),
    ("中山东路", "Zhongshan East Rd"),
    ("经二路", "Jing'er Rd"),
    ("中山西路", "Zhongshan West Rd"),
    ("经三路", "Jingsan Rd"),
    ("宝光路", "Baoguang Rd"),
    ("红旗路", "Hongqi Rd"),
    ("东风路", "Dongfeng Rd"),
    ("金台大道", "Jintai Ave"),
    ("渭滨大道", "Weibin Ave"),
    ("公园路", "Gongyuan Rd"),
    ("清姜路", "Qingjiang Rd"),
    ("姜谭路", "Jiangtan Rd"),
    ("桥南路", "Qiaonan Rd"),
    ("新建路", "Xinjian Rd"),
    ("汉中路", "Hanzhong Rd"),
    ("火炬路", "Huoju Rd"),
    ("西宝路", "Xibao Rd"),
    ("宝平路", "Baoping Rd"),
    ("高新大道", "Gaoxin Ave"),
    ("陈仓路", "Chencang Rd"),
    ("群众路", "Qunzhong Rd"),
    ("胜利路", "Shengli Rd"),
    ("人民路", "Renmin Rd"),
    ("建设路", "Jianshe Rd"),
    ("文化路", "Wenhua Rd"),
    ("和平路", "Heping Rd"),
    ("解放路", "Jiefang Rd"),
    ("光明路", "Guangming Rd"),
    ("友谊路", "Youyi Rd"),
    ("长岭路", "Changling Rd"),
    ("陈仓园路", "Chencangyuan Rd"),
    ("卧龙寺路", "Wolongsi Rd"),
    ("十里铺路", "Shilipu Rd"),
    ("西关路", "Xiguan Rd"),
    ("金陵路", "Jinling Rd"),
    ("新开路", "Xinkai Rd"),
    ("金渭路", "Jinwei Rd"),
    ("斗鸡台路", "Doujitai Rd"),
    ("蟠龙路", "Panlong Rd"),
    ("金河路", "Jinhe Rd"),
    ("硖石路", "Xiashi Rd"),
    ("石坝河路", "Shibahe Rd"),
    ("渭工路", "Weigong Rd"),
    ("马营路", "Maying Rd"),
    ("神农路", "Shennong Rd"),
    ("八鱼路", "Bayu Rd"),
    ("高家路", "Gaojia Rd"),
    ("福临路", "Fulin Rd"),
    ("益门路", "Yimen Rd"),
    ("宝福路", "Baofu Rd"),
    ("引渭路", "Yinwei Rd"),
    ("滨河路", "Binhe Rd"),
    ("滨江路", "Binjiang Rd"),
    ("秦岭路", "Qinling Rd"),
    ("炎帝路", "Yandi Rd"),
    ("周原路", "Zhouyuan Rd"),
    ("青铜器路", "Qingtongqi Rd"),
    ("石鼓路", "Shigu Rd"),
    ("凤鸣路", "Fengming Rd"),
];

/// Event routing: (kind, class, area, department). Area `district` expands to one
/// rule per district with the district's own office (`-jt` / `-wb`).
pub const ROUTING: &[(&str, &str, &str, &str)] = &[
    ("event", "*", "*", "urban-mgmt"),
    ("event", "01", "*", "urban-mgmt"),
    ("event", "01", "district", "sanitation"),
    ("event", "0101", "district", "urban-mgmt"),
    ("event", "0105", "*", "water-affairs"),
    ("event", "0106", "*", "greening"),
    ("event", "0107", "*", "traffic-police"),
    ("event", "02", "district", "urban-mgmt"),
    ("event", "03", "*", "housing"),
    ("event", "0305", "*", "municipal"),
    ("event", "0401", "*", "municipal"),
    ("event", "0402", "*", "water-co"),
    ("event", "0403", "*", "gas-co"),
    ("event", "0404", "*", "drainage-co"),
    ("event", "0405", "*", "heat-co"),
    ("event", "0406", "*", "drainage-co"),
    ("event", "0407", "district", "sanitation"),
    ("event", "0408", "*", "power-co"),
    ("event", "0409", "*", "public-security"),
    ("event", "0499", "*", "emergency"),
    ("event", "05", "district", "urban-mgmt"),
    ("event", "0505", "*", "traffic-police"),
    ("event", "0506", "*", "traffic-police"),
    ("event", "0509", "*", "transport"),
    ("event", "0512", "*", "market-reg"),
    ("component", "*", "*", "urban-mgmt"),
    ("component", "03", "district", "sanitation"),
];
