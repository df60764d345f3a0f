# Messages of the bot in English. Arguments marked $ are filled in by the bot; text
# arguments are escaped for Telegram's HTML.

## Commands in Telegram's menu
cmd-start = Start
cmd-balance = Balance and operations
cmd-status = Where is my order
cmd-orders = My orders
cmd-help = What the bot can do
cmd-language = Language / Язык
cmd-privacy = How your data is used
cmd-logout = Log out
cmd-forget = Delete my data

## Onboarding and consent
consent-request =
    Hello! I am your personal cabinet in Telegram: balance, orders and documents in a couple of taps.

    To recognise you I need your phone number. By pressing "I agree" you allow your phone number and this chat to be processed to serve you. Details: <a href="{ $url }">data processing terms</a>.
consent-button = I agree
consent-thanks = Thank you! Now press the "Share my phone number" button below so I can find your account.
contact-button = Share my phone number
onboarding-ask-contact = To continue, press the "Share my phone number" button at the bottom of the screen.
contact-typed = I can't accept a typed number: press the "Share my phone number" button so Telegram confirms the number is yours.
contact-not-own = I can only accept your own number. Press the "Share my phone number" button at the bottom of the screen.
contact-invalid = I couldn't read this number. Please press "Share my phone number" again.
contact-not-found = Sorry, I couldn't find a customer with this number. I've passed your request to our team and they will contact you. If you are a customer under another number, please contact support.
identified = Hello, { $name }! I've found your account.
already-bound = { $name }, you are already logged in.
menu-prompt = How can I help?
staff-new-lead = New access request: { $name }, phone { $phone } (Telegram id { $user }). No customer with this number.

## Main menu
menu-balance = 💰 Balance
menu-order-status = 📦 Where is my order
menu-order-history = 🧾 My orders
menu-help = ❓ Help

## Small talk
greeting = Hello, { $name }! How can I help?
help =
    I can:
    • show your balance, the next charge and recent operations — "balance";
    • tell you where your order is — "where is my order?" or "order 78234";
    • show your order history — "my orders".
    Commands: /balance, /status, /orders, /language, /privacy, /logout, /forget.
thanks-reply = You're welcome! 🙂
unknown = I didn't quite get that. Try saying it differently or choose what you need:
operator = It looks like I can't help with this myself. Support answers daily, { $hours } — describe what happened and a specialist will reply during working hours.
not-yet = I can't do that in the chat yet. Here is what is available now:
unsupported-content = I understand text and buttons. Please write in words what you need.
error-too-long = That message is too long. Please write it shorter, in a sentence or two.
error-unavailable = The system is not answering right now. Please try again in a minute.
error-internal = Something went wrong. Please try again a little later.
button-inactive = This button is no longer active.

## Privacy, language, logout
privacy =
    I keep your phone number, the link to your Telegram account, your consent and this chat (180 days) — only to serve you. The full terms (version { $version }): { $url }

    Delete this data: /forget. Log out: /logout.
forget-done = Done: I've deleted the link to your account, your consent, the dialogue state and the chat history. The company's own records are not affected. To start again, send /start.
logout-done = You are logged out. To log in again, send /start.
logout-not-bound = You are not logged in yet. Send /start to begin.
language-choose = Choose your language / Выберите язык:
language-ru = Русский
language-en = English
language-switched = Done, I'll speak English now.

## Balance
balance-title = 💰 Your balance: <b>{ $balance }</b>
balance-next-charge = Next charge: { $amount } ({ $tariff } plan) on { $date }.
balance-next-charge-no-tariff = Next charge: { $amount } on { $date }.
balance-days-left = At your current plan that lasts about { $days } { $days ->
        [one] day
       *[other] days
    }.
balance-bonus = Bonus points: { $points }
balance-operations = Recent operations:
balance-operation = { $date } · { $amount } · { $title }
balance-top-up-button = Top up
balance-no-account = I couldn't find a billing account for you. If that's a mistake, please contact support.
bonuses = You have { $points } bonus { $points ->
        [one] point
       *[other] points
    }.
top-up-how = You can top up by card in your bank's app or at our office — use account number <b>{ $account }</b>. Paying right in the chat is coming soon.

## Orders
order-status-new = accepted
order-status-assembling = being packed
order-status-in-transit = on its way
order-status-delivered = delivered
order-status-cancelled = cancelled
order-status-other = { $status }
order-card-title = 📦 <b>Order #{ $number }</b> of { $date } — { $status }
order-tracking = Tracking number: { $tracking } ({ $carrier })
order-window = Delivery: { $window }
order-courier = Courier: { $name }, { $phone }
order-delivered-at = Delivered on { $date }
order-map-button = 📍 Show on the map
order-details-button = Details
order-no-location = The courier's location is not known yet.
order-not-found = I couldn't find that order. Please check the number: { $number }.
orders-none-active = You have no active orders right now.
orders-none = You have no orders yet.
orders-history-title = 🧾 Your orders ({ $from }–{ $to } of { $total }):
orders-history-line = #{ $number } · { $date } · { $total } · { $status }
order-open-button = Order #{ $number }
page-previous = ‹ Back
page-next = Next ›
orders-back-button = ‹ Back to orders
order-items = Items:
order-item = • { $name } × { $qty } — { $price }
order-total = Total: <b>{ $total }</b>
order-address = Delivery address: { $address }

## "Did you mean…?"
clarify = Did you mean…?
intent-balance = 💰 Balance
intent-bonuses = 🎁 Bonus points
intent-top-up = 💳 Top up
intent-order-status = 📦 Where is my order
intent-order-history = 🧾 My orders
intent-repeat-order = 🔁 Repeat an order
intent-documents = 📄 Documents
intent-booking = 📅 Book an appointment
intent-booking-list = 📅 My appointments
intent-booking-reschedule = 🔄 Reschedule
intent-booking-cancel = ✖️ Cancel an appointment
intent-subscription = ⚙️ Plan and options
intent-offers = 🏷 Offers and discounts
intent-referral = 🤝 Invite a friend
intent-notifications = 🔔 Notifications
intent-operator = 🙋 Contact support
intent-privacy = 🔒 My data
intent-language = 🌐 Language
intent-help = ❓ What the bot can do
intent-greeting = 👋 Say hello
intent-thanks = 🙏 Say thanks
