"""English text for the sample crawl: topic word banks and a template grammar (all written for corpusmill).

Articles are drawn sentence by sentence from many templates with inline alternations, so two pages
on the same topic share few 5-grams; a per-page deck keeps a template from repeating inside a page.
"""
from __future__ import annotations

import random
import re

from corpusmill.samplegen.grammar import Deck, expand, split_list

# --------------------------------------------------------------------------------------------
# people, places, time
FIRST_F = split_list("Anna;Maria;Grace;Helen;Priya;Sofia;Laura;Nadia;Emma;Julia;Ruth;Chloe;Amara;Ines;"
                     "Hannah;Mei;Olivia;Fatima;Claire;Rosa;Yuki;Leila;Martha;Tessa")
FIRST_M = split_list("David;Tom;Samuel;Arjun;Marco;Peter;Daniel;Omar;Lucas;Felix;Henry;Jonas;Ravi;"
                     "Patrick;Kenji;Elliot;Mateo;Hugo;Isaac;Victor;Simon;Owen;Tariq;Neil")
LAST = split_list("Hughes;Okafor;Lindqvist;Moreau;Patel;Brennan;Novak;Castillo;Whitaker;Fischer;"
                  "Adeyemi;Sato;Kowalski;Morgan;Reyes;Hartley;Nakamura;Delgado;Ferreira;Campbell;"
                  "Osei;Bauer;Murphy;Larsen;Quinn;Sullivan;Chandra;Ivanova;Rossi;Ellison")
PLACES = split_list("Leeds;Portland;Adelaide;Lyon;Galway;Bristol;Halifax;Dunedin;Boulder;Utrecht;"
                    "Tucson;Cork;Aberdeen;Bergen;Savannah;Hobart;Norwich;Asheville;Victoria;Ghent;"
                    "the Yorkshire Dales;the Scottish Highlands;northern Vermont;the Swiss Alps;"
                    "coastal Maine;rural Ontario;the Peak District;the Pacific Northwest;southern Spain;"
                    "the Lake District;central Otago;the Hudson Valley")
MONTHS = split_list("January;February;March;April;May;June;July;August;September;October;November;December")
WHEN = split_list("last spring;every autumn;in the early morning;after a long winter;during the summer "
                  "holidays;on weekday evenings;at the start of the season;over the past decade;in recent "
                  "years;since the pandemic;before dawn;on rainy afternoons;towards the end of the year;"
                  "within a few weeks;at weekends")
NUMW = split_list("two;three;four;five;six;seven;eight;nine;ten;twelve;fifteen;twenty")
CONN = split_list("However,;In practice,;Meanwhile,;For this reason,;On the other hand,;Even so,;"
                  "As a result,;At the same time,;In many cases,;Not surprisingly,;Over time,;"
                  "In the end,;To be fair,;Still,;Interestingly,;In other words,;By contrast,;"
                  "Of course,;Later,;For example,")
GEN_ADJ = split_list("careful;patient;simple;reliable;modest;practical;surprising;steady;quiet;useful;"
                     "unusual;thoughtful;common;important;gradual;clear;generous;honest")
ABSTRACT = split_list("patience;timing;experience;curiosity;planning;practice;attention to detail;"
                      "local knowledge;good records;a willingness to fail;consistency;luck;cooperation;"
                      "a sense of humour;careful observation;routine")

# --------------------------------------------------------------------------------------------
# topics: nouns (sg or sg/pl), roles, activities, verbs (base or base/past/ing), adjectives, facts
TOPICS = {
    "gardening": dict(
        N="tomato plant;compost heap;raised bed;rose bush;seed tray;watering can;greenhouse;hedge;"
          "vegetable patch;fruit tree;potting shed;herb border;bean row;leaf/leaves;water butt;cold frame;"
          "flower bed;allotment plot;apple tree;strawberry bed",
        R="gardener;allotment holder;horticulturist;nursery owner;landscape designer;volunteer grower",
        act="gardening;growing vegetables;pruning fruit trees;making compost;saving seeds;planting bulbs",
        V="prune;water;plant;harvest;repot/repotted/repotting;feed/fed/feeding;protect;divide;mulch;thin out/thinned out/thinning out;stake;sow/sowed/sowing",
        ADJ="hardy;fragrant;overgrown;sheltered;drought-tolerant;early-flowering;waterlogged;neglected",
        F="A well-made compost heap can reach sixty degrees Celsius in the middle of summer.;"
          "Most vegetables need at least six hours of direct sunlight to crop well.;"
          "Clay soil holds nutrients well but drains slowly after heavy rain.;"
          "Slugs do most of their damage on mild, damp nights in late spring.;"
          "Rainwater is usually better for potted plants than hard tap water."),
    "astronomy": dict(
        N="telescope;star chart;eyepiece;observatory;meteor shower;comet;nebula;binocular stand;"
          "planetarium;lunar eclipse;red torch;camera mount;tripod;dark sky reserve;sky survey",
        R="amateur astronomer;astrophysicist;stargazer;observatory guide;telescope maker;astronomy teacher",
        act="stargazing;observing the planets;photographing the night sky;tracking satellites;"
            "counting meteors",
        V="align;clean;point;calibrate;repair;observe;record;photograph;track;adjust;focus;map/mapped/mapping",
        ADJ="faint;distant;cloudless;moonlit;light-polluted;remote;icy;crystal-clear",
        F="Light from the nearest star beyond the Sun takes just over four years to reach us.;"
          "The Perseid meteor shower peaks every year around the middle of August.;"
          "Your eyes need roughly twenty minutes to adapt fully to the dark.;"
          "Jupiter's four largest moons can be seen with an ordinary pair of binoculars.;"
          "A full moon washes out all but the brightest meteors."),
    "cooking": dict(
        N="cast-iron pan;sourdough starter;stock pot;spice rack;chopping board;stew;loaf of bread/loaves "
          "of bread;kitchen knife;roasting tin;family recipe;pantry;lentil soup;pastry;oven;market stall",
        R="home cook;chef;baker;food writer;market trader;cookery teacher",
        act="baking bread;cooking for a family;making soup;preserving fruit;planning meals;fermenting "
            "vegetables",
        V="bake;simmer;chop/chopped/chopping;season;roast;knead;taste;store;prepare;slice;stir/stirred/stirring;marinate",
        ADJ="crusty;seasonal;hearty;fragrant;slow-cooked;homemade;tangy;simple",
        F="Salt added early in cooking tends to taste milder than salt added at the end.;"
          "A sourdough starter can live for decades if it is fed regularly.;"
          "Onions soften in a few minutes but take much longer to caramelise properly.;"
          "Resting a roast for fifteen minutes lets the juices settle back into the meat.;"
          "Dried beans cook more evenly when they have been soaked overnight."),
    "cycling": dict(
        N="road bike;bike lane;saddle;chain;gear system;helmet;cycle route;repair stand;pump;"
          "mountain trail;commuter path;pannier;brake pad;tyre;cycling club",
        R="cyclist;bike mechanic;commuter;club rider;urban planner;race organiser",
        act="cycling to work;riding in the hills;maintaining a bike;touring by bike;training for races",
        V="ride/rode/riding;repair;adjust;clean;oil;replace;inspect;tune;pedal/pedalled/pedalling;"
          "service;pump;wash",
        ADJ="steep;busy;well-lit;muddy;narrow;flat;scenic;dedicated",
        F="A chain that is cleaned and oiled every few weeks can last thousands of kilometres.;"
          "Tyre pressure has a larger effect on comfort than most riders expect.;"
          "Separated bike lanes tend to attract far more new riders than painted ones.;"
          "Riding into a headwind can cost as much energy as climbing a gentle hill.;"
          "Brake pads wear out much faster on wet and gritty winter roads."),
    "local history": dict(
        N="parish record;old mill;market square;railway station;town archive;stone bridge;census return;"
          "family letter;photograph;canal;chapel;guild hall;shipyard;village school;war memorial",
        R="local historian;archivist;museum curator;genealogist;retired teacher;volunteer researcher",
        act="researching family history;restoring old buildings;cataloguing photographs;recording oral "
            "histories;reading parish registers",
        V="restore;catalogue;digitise;study;preserve;trace;document;uncover;transcribe;date;map/mapped/mapping;rebuild/"
          "rebuilt/rebuilding",
        ADJ="forgotten;crumbling;handwritten;medieval;Victorian;faded;local;long-lost",
        F="Many parish registers in England go back to the reign of Henry the Eighth.;"
          "The arrival of the railway often doubled the size of a market town within a generation.;"
          "Census returns are usually closed to the public for a hundred years.;"
          "Watermills were once so common that almost every village had one.;"
          "Old photographs are easier to date from clothing and shop signs than from the buildings."),
    "personal finance": dict(
        N="household budget;savings account;pension;credit card;emergency fund;mortgage;spending "
          "diary;interest rate;tax return;index fund;monthly bill;insurance policy;payslip",
        R="financial adviser;accountant;saver;economist;household;small business owner",
        act="saving money;paying off debt;planning for retirement;tracking expenses;investing for the "
            "long term",
        V="track;reduce;review;compare;cancel/cancelled/cancelling;pay off/paid off/paying off;invest;set aside/set aside/"
          "setting aside;budget;calculate;plan/planned/planning;renegotiate",
        ADJ="modest;fixed;unexpected;rising;sensible;long-term;variable;hidden",
        F="Small subscriptions that renew automatically are among the easiest costs to forget.;"
          "Paying off the debt with the highest interest rate first usually saves the most money.;"
          "An emergency fund covering three months of expenses is a common rule of thumb.;"
          "Fees of one percent a year can eat a surprising share of long-term returns.;"
          "Writing down every purchase for a month changes spending habits for many people."),
    "birdwatching": dict(
        N="bird hide;field guide;notebook;pair of binoculars/pairs of binoculars;nest box;wetland;"
          "feeder;migration route;reed bed;estuary;dawn chorus;ringing station;heron;woodpecker;swallow",
        R="birdwatcher;ornithologist;ranger;wildlife photographer;nature guide;volunteer counter",
        act="birdwatching;counting migrating geese;recording the dawn chorus;building nest boxes;"
            "surveying wetlands",
        V="spot/spotted/spotting;count;record;identify;watch;photograph;feed/fed/feeding;protect;monitor;survey;"
          "ring;follow",
        ADJ="rare;shy;migratory;noisy;colourful;elusive;resident;tiny",
        F="Swallows that breed in Britain spend the winter in southern Africa.;"
          "Many birds sing most strongly in the hour before sunrise.;"
          "A clean feeder helps stop diseases spreading between garden birds.;"
          "Herons often stand motionless for minutes before striking at a fish.;"
          "Wetlands support more bird species per hectare than almost any other habitat."),
    "software": dict(
        N="code review;test suite;database;release;bug report;build server;library;pull request;"
          "deployment;log file;configuration file;feature flag;error message;design document;backlog",
        R="software engineer;developer;tester;team lead;system administrator;open source maintainer",
        act="writing tests;reviewing code;maintaining legacy systems;shipping small releases;debugging "
            "production issues",
        V="review;test;deploy;refactor;document;debug/debugged/debugging;release;monitor;simplify;"
          "measure;rewrite/rewrote/rewriting;automate",
        ADJ="legacy;flaky;well-tested;slow;readable;fragile;modular;critical",
        F="Most production incidents begin with a change that looked harmless at the time.;"
          "A test that fails only occasionally is often worse than no test at all.;"
          "Small pull requests are reviewed faster and more carefully than large ones.;"
          "Clear error messages save support teams a remarkable amount of time.;"
          "Removing unused code is one of the cheapest ways to reduce bugs."),
    "architecture": dict(
        N="timber frame;brick facade;courtyard;staircase;roof terrace;floor plan;window frame;"
          "load-bearing wall;public library;housing block;town hall;concrete shell;atrium;porch",
        R="architect;builder;structural engineer;planning officer;carpenter;conservation officer",
        act="designing homes;restoring historic buildings;planning new streets;building with timber;"
            "retrofitting old houses",
        V="design;build/built/building;restore;insulate;extend;renovate;inspect;sketch;measure;"
          "reinforce;demolish;convert",
        ADJ="airy;brutalist;energy-efficient;cramped;elegant;listed;modular;sunlit",
        F="Thick stone walls keep old houses cool in summer and slow to heat in winter.;"
          "Timber buildings store carbon for as long as they stand.;"
          "A south-facing window can provide a surprising share of a home's winter heat.;"
          "Most of the energy a building uses over its life goes into heating and cooling.;"
          "Narrow streets and shaded courtyards have kept hot cities cool for centuries."),
    "music": dict(
        N="piano;practice diary;metronome;violin;choir;rehearsal;concert hall;sheet music;guitar;"
          "scale;recital;string quartet;drum kit;music stand;brass band",
        R="musician;piano teacher;conductor;student;composer;session player",
        act="practising the piano;playing in a band;singing in a choir;learning to read music;"
            "teaching children to play",
        V="practise;play;rehearse;tune;compose;record;perform;learn/learned/learning;repeat;memorise;"
          "listen to/listened to/listening to;arrange",
        ADJ="difficult;joyful;slow;lively;unfamiliar;melodic;demanding;quiet",
        F="Short daily practice sessions tend to work better than one long session a week.;"
          "Playing a difficult passage slowly is usually the fastest way to learn it.;"
          "Many orchestras tune to an A of four hundred and forty hertz.;"
          "Singing in a group has been linked to lower stress in several studies.;"
          "Recording a rehearsal reveals mistakes that players rarely notice in the moment."),
    "sleep and health": dict(
        N="sleep routine;bedroom;alarm clock;afternoon nap;daily walk;sleep diary;caffeine habit;"
          "blackout curtain;mattress;evening meal;screen;morning light;night shift;breathing exercise",
        R="sleep researcher;doctor;nurse;shift worker;physiotherapist;health coach",
        act="sleeping well;exercising regularly;managing stress;working night shifts;cutting down on "
            "caffeine",
        V="improve;track;avoid;reduce;change;measure;adjust;limit;keep/kept/keeping;protect;schedule;"
          "study/studied/studying",
        ADJ="restful;irregular;consistent;tired;healthy;dark;noisy;gentle",
        F="Most adults need between seven and nine hours of sleep a night.;"
          "Caffeine can stay in the body for many hours after the last cup of coffee.;"
          "Bright light in the morning helps set the body clock for the rest of the day.;"
          "A cool, dark bedroom makes it easier for most people to fall asleep.;"
          "Regular exercise improves sleep, though not when it happens just before bed."),
    "coastal ecology": dict(
        N="salt marsh;rock pool;sand dune;kelp forest;tide line;seagrass meadow;mudflat;harbour;"
          "seal colony;oyster reef;shingle beach;sea wall;lighthouse;fishing boat;coastal path",
        R="marine biologist;fisher;coastguard;beach warden;ecologist;diving instructor",
        act="surveying rock pools;restoring seagrass;cleaning beaches;studying the tides;monitoring "
            "seal colonies",
        V="survey;restore;protect;monitor;sample;clean;map/mapped/mapping;replant;measure;study/studied/studying;"
          "count;record",
        ADJ="windswept;sheltered;muddy;fragile;tidal;rocky;eroding;sandy",
        F="Seagrass meadows can store carbon many times faster than tropical forests.;"
          "Salt marshes absorb the energy of storm waves before they reach the land.;"
          "Most rock pool animals are best seen during the lowest spring tides.;"
          "Oyster reefs filter enormous volumes of seawater every day.;"
          "Sand dunes move slowly inland unless plants hold them in place."),
    "photography": dict(
        N="camera;lens;darkroom;tripod;portrait;landscape shot;light meter;photo album;exposure;"
          "film roll;studio;photo walk;print;flash unit;memory card",
        R="photographer;photo editor;picture researcher;street photographer;wedding photographer;"
          "camera repairer",
        act="taking portraits;shooting on film;photographing landscapes;editing pictures;printing at "
            "home",
        V="frame;print;develop;edit;capture;expose;focus;crop/cropped/cropping;light/lit/lighting;shoot/shot/"
          "shooting;scan/scanned/scanning;archive",
        ADJ="grainy;sharp;overexposed;candid;black-and-white;soft;dramatic;golden",
        F="The hour after sunrise and the hour before sunset give the softest natural light.;"
          "A tripod matters more than an expensive lens for most landscape work.;"
          "Shooting on film forces many photographers to slow down and think.;"
          "Printed photographs often outlast the digital files they were made from.;"
          "Overcast days are surprisingly good for portraits because the light is even."),
    "beekeeping": dict(
        N="beehive;honeycomb;queen bee;smoker;frame;swarm;apiary;wildflower meadow;honey harvest;"
          "bee suit;colony;nectar flow;wax cappings/wax cappings;hive tool;pollen basket",
        R="beekeeper;bee inspector;farmer;honey producer;entomologist;apprentice",
        act="keeping bees;harvesting honey;catching swarms;planting for pollinators;inspecting hives",
        V="inspect;open;feed/fed/feeding;move;harvest;split/split/splitting;requeen;protect;check;smoke;mark;extract",
        ADJ="busy;calm;wild;sticky;productive;defensive;overwintering;healthy",
        F="A strong colony can hold more than fifty thousand bees at the height of summer.;"
          "Bees communicate the direction of flowers through a waggle dance.;"
          "Honey never really spoils if it is stored in a sealed jar.;"
          "A swarm is usually at its gentlest just after it has left the hive.;"
          "Each worker bee lives only a few weeks during the busy summer months."),
}

# --------------------------------------------------------------------------------------------
# templates: {N}/{Ns} topic noun, {R}/{Rs} role, {act} activity, {V}/{Ved}/{Ving} verb, {ADJ}, {P} a new
# person (then {he} {his} {him} {He} {His} {Pf}), {PL} place, {year} {num} {numw} {pct} {month} {when}
TITLES = split_list(
    "What [Every|Most|Few] {R} [Knows|Learns|Forgets] About {Ns};"
    "A [Beginner's|Practical|Short|Patient] Guide to {act};"
    "Why {Ns} [Matter|Still Matter] [More Than Ever|in {PL}];"
    "{numw} Lessons From a Year of {act};"
    "How {PL} [Learned|Came] to Love Its {Ns};"
    "The {ADJ} {N}: Notes From {PL};"
    "[Rethinking|Reconsidering|In Defence of] the {ADJ} {N};"
    "[Inside|Behind] the {N}: A {R} in {PL};"
    "[Small|Simple|Quiet] Changes That Make {act} Easier;"
    "[When|Where] {Ns} and {Ns} Meet")

HEADINGS = split_list(
    "[Getting started|First steps|Where to begin];[What the {Rs} say|Advice from {Rs}];"
    "[The {ADJ} {N}|About the {N}];[Common mistakes|What goes wrong];[Looking ahead|What comes next];"
    "[A closer look at {Ns}|The trouble with {Ns}];[Tools and habits|Routines that work]")

INTRO = split_list(
    "[Few|Not many] [things|subjects] [divide|unite] {Rs} [quite|so much] [as|like] {the_N}.;"
    "[Anyone|Everyone] who has [tried|spent time] {act} [knows|will know] [how much|that] {the_N} "
    "[can change|shapes] [everything|the whole experience].;"
    "[This|The following] [article|piece|guide] [looks at|explores|describes] {act} [in|around] {PL} "
    "[and|as well as] [what|the lessons] {Rs} [there|in the area] have [learned|worked out].;"
    "[It began|It all started] {when}, when {P} [noticed|realised] that {his} {N} [was|had become] "
    "[far|much] more {ADJ} than [before|expected].;"
    "[For|Over] {numw} years, {P} has [spent|devoted] [much|most] of {his} [free time|spare time|"
    "weekends] {act}.;"
    "[In|Across] {PL}, {act} [has become|is now] [a popular|an everyday|a serious] [pastime|habit|"
    "pursuit] [for|among] [many|thousands of] [families|people|residents].;"
    "[Ask|Talk to] [any|a] {R} [about|what they think of] {Ns} and [you will|you'll] [hear|get] "
    "[a long|a passionate|a different] [answer|story].")

BODY = split_list(
    "{The_N} is [one of|among] the [most|least] {ADJ} [parts|aspects] of {act}, and {Rs} [in|around] "
    "{PL} have [known|understood] this for [years|generations].;"
    "When {P} first [started|took up] {act}, {he} [spent|used] [most|many] [weekends|evenings] {Ving} "
    "{the_N} and [taking|writing] notes.;"
    "[Most|Many|Some] {Rs} [agree|believe|argue] that {the_N} [matters|counts] more than {the_N}, "
    "[although|though] [the reasons vary|few can say why|opinions differ].;"
    "In {year}, a [small|local] group of {Rs} [in|near] {PL} [began|decided] to {V} {the_N} "
    "[on a regular basis|every {month}|once a week].;"
    "The [results|first results] were {GEN}: {the_N} [lasted|held up] {numw} weeks longer than "
    "[anyone|the group] had [expected|hoped].;"
    "It is [easy|simple enough] to {V} {a_N}, but it [is|can be] [much|far] harder to {V} {the_N} "
    "[without help|on your own|in bad weather].;"
    "According to {P}, who has worked as {a_R} for {num} years, [the key|the secret] is {ABS}.;"
    "\"[You|We] [cannot|can't] {V} {the_N} [in a hurry|overnight|by guesswork],\" {Pf} [says|said|"
    "explains]. \"[It takes|You need] {ABS}.\";"
    "{He} [recommends|suggests] that [beginners|newcomers] {V} {the_N} [first|before anything else] "
    "and [leave|save] {the_N} [for later|until they feel confident].;"
    "[A survey|One study|A local survey] [of|among] {num} {Rs} [found|suggested] that [about|nearly] "
    "{pct} percent [of them|] [had|have] [never|rarely] [tried|bothered] to {V} {the_N}.;"
    "[The|This] [problem|difficulty] [is|becomes] [worse|more obvious] {when}, [when|because] {the_N} "
    "[tends|is likely] to [become|get] {ADJ}.;"
    "[Part|Much] of the [appeal|charm] [lies|is] in [the way|how] {the_N} [changes|responds] [from "
    "season to season|over the years|with a little care].;"
    "[People|Visitors|Newcomers] [often|sometimes] [assume|imagine] that {act} [is|must be] "
    "[expensive|complicated|a solitary hobby], [but|yet] [that|this] [is rarely|is seldom|isn't] "
    "[true|the case].;"
    "[In|By] {month}, {the_N} [is|was] [usually|often] {ADJ}, [so|and so] [most|many] {Rs} [prefer|"
    "choose] to {V} {the_N} [instead|at that time].;"
    "{P} [keeps|kept] a [notebook|simple record|diary] of every {N} {he} [has|had] [ever|] [worked "
    "on|looked after], [with|including] [dates|notes] and [small sketches|short comments].;"
    "[That|This] [record|notebook] [later|eventually] [helped|allowed] {him} to [spot|see] "
    "[patterns|changes] that [nobody else|few others] had [noticed|recorded].;"
    "[There is|There's] [no|little] [need to|point in trying to] {V} {the_N} [every day|too often], "
    "[since|because] [once|twice] [a week|a month] is [usually|normally] [enough|plenty].;"
    "[Good|Better] {Ns} [are|tend to be] [those|the ones] that [have been|were] [looked after|cared "
    "for] [by|with] [the same|a single] [person|family] for [years|decades].;"
    "{F};"
    "[Even though|Although] {the_N} [seems|looks] {ADJ}, [it|the whole thing] [rewards|repays] [anyone|those] "
    "who [take|have] the time to {V} [it|{the_N}] [properly|carefully].;"
    "[Many|Several] {Rs} [also|now] [share|swap] {Ns} with [neighbours|friends|each other], which "
    "[keeps|helps keep] [costs|prices] [down|low].;"
    "[The town|The council|A charity] in {PL} [opened|set up|funded] {a_N} in {year}, and it [is|"
    "remains] [busy|popular|well used] [to this day|today].;"
    "[Some|A few] [of the|] {Rs} [there|in the area] [still|even] {V} {the_N} [by hand|the old way|"
    "with tools from the {year}s].;"
    "[What|The thing that] [surprised|impressed] {P} [most|above all] was [how|just how] {GEN} "
    "[the|a] {N} [could be|turned out to be].;"
    "[If|When] {the_N} [fails|goes wrong], [the|a] [usual|most common] [cause|reason] is [a lack of|"
    "too little] {ABS}.;"
    "[Instead of|Rather than] [buying|replacing] {a_N}, [try|consider] [asking|talking to] {a_R} "
    "[nearby|in your area] [for advice|first].;"
    "{P} [remembers|recalls] {his} first {N} [clearly|vividly]: [it|the thing] was {ADJ}, [small|"
    "modest] and [far from perfect|not much to look at].;"
    "[Today|These days|Now], {he} [runs|leads|organises] [a class|workshops|a club] [for|where] "
    "[beginners|local people] [learn|can learn] to {V} {Ns} [safely|properly].;"
    "[No two {Ns} are|Not every {N} is] [exactly|quite] [alike|the same], [so|and so] [general|simple] "
    "rules [only go so far|rarely tell the whole story].;"
    "[Weather|The climate] [in|around] {PL} [makes|has made] {act} [harder|trickier|more "
    "interesting] than [elsewhere|in most places].;"
    "[Costs|Prices] [have risen|went up] by [about|roughly] {pct} percent since {year}, [which|and "
    "this] [has pushed|forced] [many|some] {Rs} to {V} {Ns} [themselves|at home].;"
    "[Those|People] who {V} {Ns} [regularly|every week] [report|say] [fewer|far fewer] [problems|"
    "surprises] [with|than those who neglect] {the_N}.;"
    "[Children|Students|Young people] [at|from] [a nearby school|the local college] [visit|came] "
    "[each|every] {month} to [learn how to|help] {V} {the_N}.;"
    "[The|Their] [teacher|organiser], {P}, [says|believes] [the visits|these trips] [give|gave] "
    "[them|the pupils] [a taste|an idea] of [real|practical] {act}.;"
    "[It|This] [may|might] [sound|seem] {GEN}, [but|yet] {the_N} [often|sometimes] [decides|"
    "determines] [whether|if] [a whole|the] [season|year|project] [succeeds|goes well].;"
    "[Nobody|No one] [in|around] {PL} [expected|predicted] [that|] {the_N} would [become|turn into] "
    "[such|so] [a talking point|an attraction|a source of pride].;"
    "[With|Given] [a little|some] {ABS}, [almost|nearly] [anyone|any beginner] [can|could] [learn|"
    "manage] to {V} {Ns} [within|in] {numw} [weeks|months].;"
    "[Older|Experienced] {Rs} [like to|often] [point out|remind people] that {the_N} [used to|once "
    "would] be [far|much] more {ADJ} than it is [now|today].;"
    "[By the end of|Before] [the|that] [summer|season|year], {the_N} [had|] [doubled|grown] in [size|"
    "value], [and|while] {the_N} [needed|required] [less|far less] [work|attention].;"
    "{P} and {his} [neighbour|sister|brother|colleague] [spent|took] {numw} [days|weekends] [trying "
    "to|learning to] {V} {the_N} [before|until] [it|they] [finally|at last] [worked|succeeded].;"
    "[One|A] [lesson|rule] [stands out|is worth repeating]: [always|never] {V} {the_N} [before|"
    "without] [checking|looking at] {the_N} [first|carefully].;"
    "[There are|You will find] [plenty of|several] [books|websites|guides] on {act}, [but|yet] "
    "[nothing|little] [replaces|beats] [an afternoon|a day] with {a_ADJ} {R}.;"
    "[Because|As|Since] {the_N} [was|had been] {ADJ}, [the group|they] [decided|chose] to {V} "
    "{Ns} [in|during] {month} [instead|this time].;"
    "[These|Such] [small|modest] [changes|adjustments] [added up|made a difference]: [within|in] "
    "{numw} [months|years], [costs|losses] [fell|dropped] by {pct} percent.;"
    "[Critics|Sceptics] [say|argue] that [the|such] [effort|approach] [is|seems] [wasted|"
    "unnecessary], [but|though] [few|not many] of them have [ever|actually] [tried|attempted] to "
    "{V} {a_N}.")

CLOSING = split_list(
    "[In the end|Ultimately|After all], {act} [is|remains] [less about|not really about] {Ns} [than|"
    "and more] about {ABS}.;"
    "[If you|Anyone who wants to] [start|try], [begin|start] [small|slowly]: {V} {a_N}, [watch|note] "
    "what happens, and [learn|adjust] [as you go|from there].;"
    "[The|Our] [next|following] [article|piece|post] will [look at|return to] {Ns} [in more detail|"
    "and how to {V} them].;"
    "[For|To] {P}, the [reward|best part] [is|remains] [simple|plain]: [a|one] {ADJ} {N} and [the|a] "
    "[quiet|real] [satisfaction|pleasure] of [a job|work] done well.;"
    "[Whatever|However] [happens|the weather turns out] [next|this year], the {Rs} of {PL} [will|"
    "plan to] [keep|carry on] {act}.")


PROPER = set(FIRST_F + FIRST_M + [p.split()[0] for p in PLACES if p[:1].isupper()] + ["Jupiter's", "I"])


def _plural(noun: str) -> str:
    if " of " in noun:
        head, rest = noun.split(" of ", 1)
        return _plural(head) + " of " + rest
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def _verb_forms(spec: str) -> tuple[str, str, str]:
    if "/" in spec:
        base, past, ing = spec.split("/")
        return base, past, ing
    base = spec
    if base.endswith("e"):
        past, ing = base + "d", base[:-1] + "ing"
    elif re.search(r"[^aeiou]y$", base):
        past, ing = base[:-1] + "ied", base + "ing"
    else:
        past, ing = base + "ed", base + "ing"
    return base, past, ing


def _article(word: str) -> str:
    w = word.lower()
    vowel = w[:1] in "aeiou" and not w.startswith(("uni", "use", "usu", "eu", "one"))
    return ("an " if vowel else "a ") + word


class Topic:
    def __init__(self, name: str, spec: dict):
        self.name = name
        self.nouns = []
        for item in split_list(spec["N"]):
            sg, _, pl = item.partition("/")
            self.nouns.append((sg, pl or _plural(sg)))
        self.roles = split_list(spec["R"])
        self.acts = split_list(spec["act"])
        self.verbs = [_verb_forms(v) for v in split_list(spec["V"])]
        self.adjs = split_list(spec["ADJ"])
        self.facts = split_list(spec["F"])


TOPIC_OBJS = {name: Topic(name, spec) for name, spec in TOPICS.items()}
TOPIC_NAMES = sorted(TOPIC_OBJS)


class Writer:
    """Fills slots for one document; decks keep words and templates from repeating too soon."""

    def __init__(self, rng: random.Random, topic: str):
        self.rng = rng
        self.topic = TOPIC_OBJS[topic]
        t = self.topic
        self.d = {k: Deck(v, rng) for k, v in dict(
            N=t.nouns, R=t.roles, act=t.acts, V=t.verbs, ADJ=t.adjs, F=t.facts, PL=PLACES, month=MONTHS,
            when=WHEN, numw=NUMW, GEN=GEN_ADJ, ABS=ABSTRACT, FN=FIRST_F + FIRST_M, LAST=LAST,
            body=BODY, conn=CONN, intro=INTRO, closing=CLOSING, heading=HEADINGS).items()}
        self.person = ("Alex Morgan", "Alex", "he", "his", "him")

    def new_person(self) -> str:
        first = self.d["FN"].draw()
        female = first in FIRST_F
        self.person = (f"{first} {self.d['LAST'].draw()}", first,
                       "she" if female else "he", "her" if female else "his", "her" if female else "him")
        return self.person[0]

    def fill(self, slot: str) -> str:
        d, r = self.d, self.rng
        simple = {"N": lambda: d["N"].draw()[0], "Ns": lambda: d["N"].draw()[1],
                  "the_N": lambda: "the " + d["N"].draw()[0], "The_N": lambda: "The " + d["N"].draw()[0],
                  "a_N": lambda: _article(d["N"].draw()[0]), "R": lambda: d["R"].draw(),
                  "Rs": lambda: _plural(d["R"].draw()), "a_R": lambda: _article(d["R"].draw()),
                  "a_ADJ": lambda: _article(d["ADJ"].draw()),
                  "act": lambda: d["act"].draw(), "V": lambda: d["V"].draw()[0],
                  "Ved": lambda: d["V"].draw()[1], "Ving": lambda: d["V"].draw()[2],
                  "ADJ": lambda: d["ADJ"].draw(), "F": lambda: d["F"].draw(), "PL": lambda: d["PL"].draw(),
                  "year": lambda: str(r.randint(1952, 2022)), "num": lambda: str(r.randint(3, 40)),
                  "numw": lambda: d["numw"].draw(), "pct": lambda: str(r.randint(5, 85)),
                  "month": lambda: d["month"].draw(), "when": lambda: d["when"].draw(),
                  "GEN": lambda: d["GEN"].draw(), "ABS": lambda: d["ABS"].draw(),
                  "conn": lambda: d["conn"].draw(), "P": self.new_person,
                  "Pf": lambda: self.person[1], "he": lambda: self.person[2], "his": lambda: self.person[3],
                  "him": lambda: self.person[4], "He": lambda: self.person[2].capitalize(),
                  "His": lambda: self.person[3].capitalize()}
        fn = simple.get(slot)
        if fn is None:
            raise KeyError(f"unknown slot {{{slot}}}")
        return fn()

    def say(self, template: str) -> str:
        text = expand(template, self.rng, self.fill)
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r" ([,.;:])", r"\1", text)
        return text[:1].upper() + text[1:]

    def sentence(self, kind: str = "body", connective: float = 0.0) -> str:
        s = self.say(self.d[kind].draw())
        if connective and self.rng.random() < connective and not s.startswith('"'):
            first = s.split(" ", 1)[0].rstrip("',")
            s = self.d["conn"].draw() + " " + (s if first in PROPER else s[:1].lower() + s[1:])
        return s

    def title(self) -> str:
        t = self.say(self.rng.choice(TITLES))
        return " ".join(w[:1].upper() + w[1:] if len(w) > 3 or i == 0 else w for i, w in enumerate(t.split(" ")))

    def heading(self) -> str:
        return self.say(self.d["heading"].draw())


def article(rng: random.Random, topic: str | None = None, paragraphs: tuple[int, int] = (4, 8)) -> dict:
    """A good article: {title, topic, paragraphs: [str], headings: {index: str}}."""
    topic = topic or rng.choice(TOPIC_NAMES)
    w = Writer(rng, topic)
    n_par = rng.randint(*paragraphs)
    paras = [" ".join([w.sentence("intro")] + [w.sentence("body") for _ in range(rng.randint(1, 3))])]
    for _ in range(n_par - 2):
        paras.append(" ".join(w.sentence("body", connective=0.35 if i else 0.25)
                              for i in range(rng.randint(3, 6))))
    paras.append(" ".join([w.sentence("body") for _ in range(rng.randint(1, 2))] + [w.sentence("closing")]))
    headings = {}
    if rng.random() < 0.4 and n_par >= 5:
        for idx in rng.sample(range(1, n_par), k=min(2, n_par - 1)):
            headings[idx] = w.heading()
    return {"title": w.title(), "topic": topic, "paragraphs": paras, "headings": headings, "language": "en"}


def sentences(rng: random.Random, n: int) -> list[str]:
    """n clean sentences across all topics (training text for the demo's language models)."""
    out: list[str] = []
    while len(out) < n:
        w = Writer(rng, rng.choice(TOPIC_NAMES))
        for _ in range(min(12, n - len(out))):
            kind = rng.choice(("body", "body", "body", "intro", "closing"))
            out.append(w.sentence(kind, connective=0.2))
    return out
